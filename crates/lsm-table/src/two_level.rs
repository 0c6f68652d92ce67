//! A double-ended iterator over the items of a sequence of blocks.
//!
//! `outer` yields references to blocks in order; `load` turns one into a double-ended
//! iterator over its items. Each end keeps its own current block. When `outer` runs dry
//! from one end, the block the other end holds is the only one left, and this end
//! continues inside it, so the two ends meet without yielding any item twice.
//! An error from `outer` or `load` is yielded in place.

use crate::Result;

pub(crate) struct TwoLevelIter<O, I, L> {
    outer: O,
    load: L,
    front: Option<I>,
    back: Option<I>,
}

impl<O, I, L> TwoLevelIter<O, I, L> {
    pub(crate) fn new(outer: O, load: L) -> Self {
        Self {
            outer,
            load,
            front: None,
            back: None,
        }
    }
}

impl<O, I, L, H, T> Iterator for TwoLevelIter<O, I, L>
where
    O: DoubleEndedIterator<Item = Result<H>>,
    I: DoubleEndedIterator<Item = Result<T>>,
    L: FnMut(H) -> Result<I>,
{
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            if let Some(inner) = &mut self.front {
                if let Some(item) = inner.next() {
                    return Some(item);
                }
                self.front = None;
            }
            match self.outer.next() {
                Some(Ok(handle)) => match (self.load)(handle) {
                    Ok(inner) => self.front = Some(inner),
                    Err(error) => return Some(Err(error)),
                },
                Some(Err(error)) => return Some(Err(error)),
                None => return self.back.as_mut().and_then(Iterator::next),
            }
        }
    }
}

impl<O, I, L, H, T> DoubleEndedIterator for TwoLevelIter<O, I, L>
where
    O: DoubleEndedIterator<Item = Result<H>>,
    I: DoubleEndedIterator<Item = Result<T>>,
    L: FnMut(H) -> Result<I>,
{
    fn next_back(&mut self) -> Option<Result<T>> {
        loop {
            if let Some(inner) = &mut self.back {
                if let Some(item) = inner.next_back() {
                    return Some(item);
                }
                self.back = None;
            }
            match self.outer.next_back() {
                Some(Ok(handle)) => match (self.load)(handle) {
                    Ok(inner) => self.back = Some(inner),
                    Err(error) => return Some(Err(error)),
                },
                Some(Err(error)) => return Some(Err(error)),
                None => return self.front.as_mut().and_then(DoubleEndedIterator::next_back),
            }
        }
    }
}
