//! [`Slice`]: cheap-to-clone, immutable bytes.
//!
//! A slice is a window into a reference-counted buffer, so a decoded block can hand out
//! its values without copying them, and clones cost one atomic increment. Equality,
//! order and hashing are those of the bytes, never of the buffer identity.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io;
use std::ops::{Bound, Deref, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Immutable bytes with cheap clones and zero-copy sub-slices.
#[derive(Clone)]
pub struct Slice {
    buffer: Arc<[u8]>,
    start: usize,
    end: usize,
}

/// A user key.
pub type UserKey = Slice;

/// A user value.
pub type UserValue = Slice;

impl Slice {
    /// Copies `bytes` into a new slice.
    #[must_use]
    #[inline]
    pub fn new(bytes: &[u8]) -> Self {
        Self::from_arc(Arc::from(bytes))
    }

    /// The empty slice. It shares one buffer with every other empty slice, so making
    /// one (a tombstone's value, say) allocates nothing.
    #[must_use]
    pub fn empty() -> Self {
        static EMPTY: std::sync::LazyLock<Arc<[u8]>> =
            std::sync::LazyLock::new(|| Arc::from(&[][..]));
        Self::from_arc(Arc::clone(&EMPTY))
    }

    /// Reads exactly `len` bytes from `reader` into a new slice.
    ///
    /// # Errors
    /// Whatever `reader` returns, including `UnexpectedEof` when it ends early.
    pub fn from_reader<R: io::Read>(reader: &mut R, len: usize) -> io::Result<Self> {
        Self::filled_by(len, |bytes| reader.read_exact(bytes))
    }

    /// A new slice of `len` bytes that `fill` writes (they start zeroed). The bytes are
    /// allocated once, in place: unlike reading into a `Vec` and converting it, nothing
    /// is copied afterwards (a block or blob read is one copy out of the page cache).
    ///
    /// # Errors
    /// Whatever `fill` returns.
    pub fn filled_by<E>(
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<Self, E> {
        Self::filled_reusing(None, len, len, fill)
    }

    /// A slice of `len` bytes that `fill` writes into `spare` when it is given, long
    /// enough and shared with nothing (its old bytes are overwritten, not zeroed first:
    /// no allocation and no zeroing), and otherwise into a new zeroed buffer of
    /// `capacity` bytes (at least `len`; room to be reused for a slightly longer slice).
    /// The slice is the first `len` bytes either way.
    ///
    /// # Errors
    /// Whatever `fill` returns.
    pub fn filled_reusing<E>(
        spare: Option<Arc<[u8]>>,
        len: usize,
        capacity: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<Self, E> {
        // An exact-length iterator collects straight into the shared allocation.
        let mut buffer = spare
            .filter(|spare| spare.len() >= len)
            .and_then(|mut spare| Arc::get_mut(&mut spare).is_some().then_some(spare))
            .unwrap_or_else(|| std::iter::repeat_n(0, capacity.max(len)).collect());
        let bytes = Arc::get_mut(&mut buffer)
            .and_then(|bytes| bytes.get_mut(..len))
            .expect("the buffer is unshared and at least len long");
        fill(bytes)?;
        Ok(Self {
            buffer,
            start: 0,
            end: len,
        })
    }

    /// The whole buffer this slice is a window of, when nothing else shares it (so it
    /// can be filled again: [`Self::filled_reusing`]).
    #[must_use]
    pub fn into_unshared_buffer(mut self) -> Option<Arc<[u8]>> {
        Arc::get_mut(&mut self.buffer)?;
        Some(self.buffer)
    }

    /// The buffer of this slice alone: the one it is a window of when the window is the
    /// whole of it (no copy), else a copy of its bytes (a window never keeps a larger
    /// buffer alive through what it became).
    #[must_use]
    pub fn into_whole_buffer(self) -> Arc<[u8]> {
        if self.start == 0 && self.end == self.buffer.len() {
            self.buffer
        } else {
            Arc::from(self.as_bytes())
        }
    }

    /// A slice of all of `buffer`, sharing it.
    #[must_use]
    #[inline]
    pub fn from_arc(buffer: Arc<[u8]>) -> Self {
        let end = buffer.len();
        Self {
            buffer,
            start: 0,
            end,
        }
    }

    /// A sub-slice sharing this slice's buffer.
    ///
    /// # Panics
    /// When `range` is not within `0..self.len()`, like slice indexing.
    #[must_use]
    #[inline]
    pub fn slice(&self, range: impl RangeBounds<usize>) -> Self {
        let start = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&n) => n + 1,
            Bound::Excluded(&n) => n,
            Bound::Unbounded => self.len(),
        };
        assert!(start <= end, "slice start {start} after end {end}");
        assert!(
            end <= self.len(),
            "slice end {end} beyond length {}",
            self.len()
        );
        Self {
            buffer: Arc::clone(&self.buffer),
            start: self.start + start,
            end: self.start + end,
        }
    }

    /// A sub-slice, or `None` when `start..end` does not fit.
    #[must_use]
    #[inline]
    pub fn get_slice(&self, start: usize, end: usize) -> Option<Self> {
        (start <= end && end <= self.len()).then(|| self.slice(start..end))
    }

    /// The bytes.
    #[must_use]
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        // The constructor and `slice` keep `start <= end <= buffer.len()`.
        &self.buffer[self.start..self.end]
    }

    /// Copies the bytes into a `Vec`.
    #[must_use]
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

impl Deref for Slice {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Slice {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for Slice {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Default for Slice {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for Slice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_bytes().escape_ascii())
    }
}

impl PartialEq for Slice {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Slice {}

impl PartialOrd for Slice {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Slice {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for Slice {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq<[u8]> for Slice {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialEq<&[u8]> for Slice {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_bytes() == *other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Slice {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_bytes() == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Slice {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_bytes() == *other
    }
}

impl PartialEq<Vec<u8>> for Slice {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_bytes() == other.as_slice()
    }
}

impl PartialEq<str> for Slice {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Slice {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialOrd<[u8]> for Slice {
    fn partial_cmp(&self, other: &[u8]) -> Option<Ordering> {
        Some(self.as_bytes().cmp(other))
    }
}

impl PartialOrd<&[u8]> for Slice {
    fn partial_cmp(&self, other: &&[u8]) -> Option<Ordering> {
        Some(self.as_bytes().cmp(*other))
    }
}

impl<const N: usize> PartialOrd<[u8; N]> for Slice {
    fn partial_cmp(&self, other: &[u8; N]) -> Option<Ordering> {
        Some(self.as_bytes().cmp(other.as_slice()))
    }
}

impl PartialOrd<Vec<u8>> for Slice {
    fn partial_cmp(&self, other: &Vec<u8>) -> Option<Ordering> {
        Some(self.as_bytes().cmp(other.as_slice()))
    }
}

/// The other direction of the comparisons above: bytes on the left, a slice on the
/// right.
macro_rules! compare_from_the_left {
    ($([$($param:tt)*] $left:ty),* $(,)?) => {$(
        impl<$($param)*> PartialEq<Slice> for $left {
            fn eq(&self, other: &Slice) -> bool {
                AsRef::<[u8]>::as_ref(self) == other.as_bytes()
            }
        }

        impl<$($param)*> PartialOrd<Slice> for $left {
            fn partial_cmp(&self, other: &Slice) -> Option<Ordering> {
                Some(AsRef::<[u8]>::as_ref(self).cmp(other.as_bytes()))
            }
        }
    )*};
}

compare_from_the_left!(
    [] [u8],
    [] &[u8],
    [] Vec<u8>,
    [const N: usize] [u8; N],
    [const N: usize] &[u8; N],
    [] str,
    [] &str,
);

impl FromIterator<u8> for Slice {
    fn from_iter<T: IntoIterator<Item = u8>>(iter: T) -> Self {
        Self::from(iter.into_iter().collect::<Vec<u8>>())
    }
}

impl From<&[u8]> for Slice {
    fn from(bytes: &[u8]) -> Self {
        Self::new(bytes)
    }
}

impl<const N: usize> From<[u8; N]> for Slice {
    fn from(bytes: [u8; N]) -> Self {
        Self::new(&bytes)
    }
}

impl<const N: usize> From<&[u8; N]> for Slice {
    fn from(bytes: &[u8; N]) -> Self {
        Self::new(bytes)
    }
}

impl From<Vec<u8>> for Slice {
    fn from(bytes: Vec<u8>) -> Self {
        Self::from_arc(Arc::from(bytes))
    }
}

impl From<&Vec<u8>> for Slice {
    fn from(bytes: &Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl From<String> for Slice {
    fn from(text: String) -> Self {
        Self::from(text.into_bytes())
    }
}

impl From<&String> for Slice {
    fn from(text: &String) -> Self {
        Self::new(text.as_bytes())
    }
}

impl From<&str> for Slice {
    fn from(text: &str) -> Self {
        Self::new(text.as_bytes())
    }
}

impl From<Arc<[u8]>> for Slice {
    fn from(buffer: Arc<[u8]>) -> Self {
        Self::from_arc(buffer)
    }
}

impl From<Arc<str>> for Slice {
    fn from(text: Arc<str>) -> Self {
        Self::new(text.as_bytes())
    }
}

impl From<&Path> for Slice {
    fn from(path: &Path) -> Self {
        Self::new(path.as_os_str().as_encoded_bytes())
    }
}

impl From<PathBuf> for Slice {
    fn from(path: PathBuf) -> Self {
        Self::from(path.as_path())
    }
}

impl From<Slice> for Vec<u8> {
    fn from(slice: Slice) -> Self {
        slice.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_buffer_is_shared_and_a_window_copied() {
        let whole = Slice::new(b"abcdef");
        let buffer = whole.clone().into_whole_buffer();
        assert_eq!(
            buffer.as_ptr(),
            whole.as_ptr(),
            "the whole buffer is not copied"
        );
        let window = whole.slice(1..4);
        let copied = window.clone().into_whole_buffer();
        assert_eq!(&*copied, b"bcd");
        assert_ne!(copied.as_ptr(), window.as_ptr(), "a window is copied out");
        assert_eq!(Slice::from_arc(copied), window);
        assert!(Slice::empty().into_whole_buffer().is_empty());
    }

    #[test]
    fn a_spare_buffer_is_filled_again_only_when_unshared_and_long_enough() {
        let fill = |byte| {
            move |bytes: &mut [u8]| -> Result<(), ()> {
                bytes.fill(byte);
                Ok(())
            }
        };
        let first = Slice::filled_reusing(None, 5, 8, fill(1)).unwrap();
        assert_eq!(first, [1; 5]);
        let held = first.slice(1..3);
        // Shared with `held`: not given back.
        let first = first.into_unshared_buffer();
        assert!(first.is_none());
        let buffer = held.into_unshared_buffer().unwrap();
        assert_eq!(buffer.len(), 8);
        let address = buffer.as_ptr();
        // Refilled in place, up to the new length only.
        let second = Slice::filled_reusing(Some(buffer), 7, 7, fill(2)).unwrap();
        assert_eq!(second, [2; 7]);
        assert_eq!(second.as_ptr(), address);
        // Too short: a new buffer.
        let buffer = second.into_unshared_buffer().unwrap();
        let third = Slice::filled_reusing(Some(buffer), 9, 9, fill(3)).unwrap();
        assert_eq!(third, [3; 9]);
        assert_ne!(third.as_ptr(), address);
        // Shared: a new buffer, and the sharer's bytes stay.
        let shared = Slice::filled_reusing(None, 4, 4, fill(4)).unwrap();
        let other = shared.clone();
        let buffer = Arc::clone(&shared.buffer);
        let fourth = Slice::filled_reusing(Some(buffer), 4, 4, fill(5)).unwrap();
        assert_eq!(fourth, [5; 4]);
        assert_eq!(other, [4; 4]);
    }

    #[test]
    fn slices_compare_with_bytes_from_either_side() {
        let slice = Slice::from(&b"abc"[..]);
        let bytes: &[u8] = b"abc";
        assert_eq!(slice, bytes);
        assert_eq!(bytes, slice);
        assert_eq!(*b"abc", slice);
        assert_eq!(b"abc", slice);
        assert_eq!(b"abc".to_vec(), slice);
        assert_eq!("abc", slice);
        assert!(slice < *b"abd");
        assert!(b"abd".to_vec() > slice);
        assert!(*b"abb" < slice);
        assert!(slice > b"ab".to_vec());
        assert!(bytes >= slice);
    }

    #[test]
    fn filled_slices_hold_what_the_filler_wrote_or_its_error() {
        let filled = Slice::filled_by(5, |bytes| {
            assert_eq!(bytes, [0; 5], "the bytes start zeroed");
            bytes.copy_from_slice(b"bytes");
            Ok::<_, ()>(())
        });
        assert_eq!(filled.unwrap(), "bytes");
        assert_eq!(Slice::filled_by(0, |_| Ok::<_, ()>(())).unwrap(), "");
        assert_eq!(Slice::filled_by(3, |_| Err("no")), Err("no"));
        let mut reader: &[u8] = b"abc";
        assert!(Slice::from_reader(&mut reader, 4).is_err());
    }

    #[test]
    fn sub_slices_share_and_compare_by_bytes() {
        let whole = Slice::from("hello world");
        let hello = whole.slice(..5);
        let world = whole.slice(6..);
        assert_eq!(hello, "hello");
        assert_eq!(world, b"world");
        assert!(hello < world);
        assert_eq!(whole.slice(6..).slice(1..=2), "or");
        assert_eq!(whole.get_slice(3, 20), None);
        assert_eq!(Slice::empty().len(), 0);
    }

    #[test]
    #[should_panic(expected = "beyond length")]
    fn slice_out_of_bounds_panics_like_indexing() {
        let _ = Slice::from("abc").slice(1..4);
    }
}
