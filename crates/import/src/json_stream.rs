//! Streaming JSON: the elements of a top-level array (or of an array under a key of the top
//! object) one at a time, with the line each one ends on.

use std::cell::Cell;
use std::fmt;
use std::io::{BufRead, Read};
use std::rc::Rc;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Counts the lines of what passes through it (serde_json reads byte by byte, so the count is
/// exact at the point the parser is).
#[derive(Debug)]
pub(crate) struct LineCounter<R> {
    inner: R,
    newlines: Rc<Cell<u64>>,
}

impl<R> LineCounter<R> {
    pub(crate) fn new(inner: R) -> (Self, Rc<Cell<u64>>) {
        let newlines = Rc::new(Cell::new(0));
        (
            Self {
                inner,
                newlines: Rc::clone(&newlines),
            },
            newlines,
        )
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        let lines = buf[..read].iter().filter(|byte| **byte == b'\n').count() as u64;
        self.newlines.set(self.newlines.get() + lines);
        Ok(read)
    }
}

/// Returns the first byte that is not whitespace, without consuming it.
pub(crate) fn peek_non_whitespace(reader: &mut impl BufRead) -> std::io::Result<Option<u8>> {
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(None);
        }
        match buffer.iter().position(|byte| !byte.is_ascii_whitespace()) {
            Some(index) => {
                let byte = buffer[index];
                reader.consume(index);
                return Ok(Some(byte));
            }
            None => {
                let length = buffer.len();
                reader.consume(length);
            }
        }
    }
}

/// Receives each element with the line it ends on; false stops the reading.
pub(crate) type ElementSink<'a> = dyn FnMut(Value, u64) -> bool + 'a;

/// Feeds the elements of an array to a sink, one at a time.
pub(crate) struct ArrayElements<'a, 'b> {
    pub(crate) lines: Rc<Cell<u64>>,
    pub(crate) sink: &'a mut ElementSink<'b>,
}

impl<'de> DeserializeSeed<'de> for ArrayElements<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ArrayElements<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(element) = seq.next_element::<Value>()? {
            if !(self.sink)(element, self.lines.get() + 1) {
                // Drain the rest without keeping it.
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                break;
            }
        }
        Ok(())
    }
}

/// Reads a top-level object, streaming the array under `streamed_key` into a sink and
/// keeping every other member (they are small) as values.
pub(crate) struct ObjectWithStreamedArray<'a, 'b, 'c> {
    pub(crate) streamed_key: &'static str,
    pub(crate) elements: ArrayElements<'a, 'b>,
    /// Called with the members read so far just before the array streams; false skips it.
    pub(crate) check: &'c mut dyn FnMut(&serde_json::Map<String, Value>) -> bool,
}

impl<'de> DeserializeSeed<'de> for ObjectWithStreamedArray<'_, '_, '_> {
    type Value = serde_json::Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectWithStreamedArray<'_, '_, '_> {
    type Value = serde_json::Map<String, Value>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = serde_json::Map::new();
        let ArrayElements { lines, sink } = self.elements;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.streamed_key && (self.check)(&members) {
                map.next_value_seed(ArrayElements {
                    lines: Rc::clone(&lines),
                    sink: &mut *sink,
                })?;
            } else if key == self.streamed_key {
                map.next_value::<serde::de::IgnoredAny>()?;
            } else {
                let value = map.next_value::<Value>()?;
                members.insert(key, value);
            }
        }
        Ok(members)
    }
}
