//! Identifiers of the engine's files and memtables.
//!
//! Ids are plain integers so that they can be printed, stored and compared freely; the
//! type alias names what kind of object an integer refers to.

/// Id of a table file; unique within a tree, never reused while the tree exists.
pub type TableId = u64;

/// Id of a blob file; unique within a tree.
pub type BlobFileId = u64;

/// Id of a memtable; unique within a tree's lifetime in one process.
pub type MemtableId = u64;

/// Id of any engine file as bound into checksums and encryption contexts.
pub type FileId = u64;
