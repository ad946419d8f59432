//! What the SQL backends share without sharing SQL: the plain column values of stored records
//! and their conversion to domain types ([`row`]), the checking of keyset cursors against the
//! sort keys they continue ([`keyset`]), and the splitting of a search text into the words
//! every match must contain ([`search`]).
//!
//! Only storage backends use this module; the application layer never needs it.

pub mod keyset;
pub mod row;
pub mod search;
