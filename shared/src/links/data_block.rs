//! Google's `data=` block (and an embed's `pb=`), read entry by entry.
//!
//! The block is a list of `!`-separated entries, `<field><type><value>`: `3d-26.1` is
//! field 3 holding a double, `1s0x1e95…:0x2f1…` field 1 holding a string, and `4m6`
//! opens a message made of the next 6 entries (counted at every depth). What a field
//! means depends on the message it is in; the ones read here:
//!
//! - the place pin: a `3d<lat>` entry directly followed by `4d<lng>` (in a place URL,
//!   inside `8m2`). Read wherever it appears in the link, as before this module existed
//!   (the consent interstitial carries the block percent-encoded inside `continue=`);
//! - directions (`/maps/dir/` links): the directions message holds one `1m` message per
//!   stop, in order (`1m0` for a stop with nothing known, such as "your location"), and
//!   a stop's coordinates are its `2m2!1d<lng>!2d<lat>`: **longitude first**, the
//!   reverse of the place pin. The destination, the last stop, is the answer; a last
//!   stop without coordinates gives none (an earlier stop is not the destination).
//!   Street View embeds use the same `2m2!1d!2d` shape with latitude first, which is why
//!   this reading is only done on `/dir/` links;
//! - an embed (`/maps/embed?pb=`): the camera, `1m3!1d<distance>!2d<lng>!3d<lat>`, a
//!   viewport centre like `@`;
//! - a feature id `1s0x…:0x…`: the place Google means, with no coordinates of its own.
//!
//! The link is split on every `!`; a piece that is not an entry (the URL before the
//! block, a path after it) breaks adjacency but is otherwise skipped. A message whose
//! count runs past the end of the block (a link cut short) holds what there is.

use std::sync::LazyLock;

use regex::Regex;

use super::number::{Found, NUM, decimal_pair, re};

/// A number at the start of a value, read as generously as the other patterns do.
static LEADING_NUM: LazyLock<Regex> = LazyLock::new(|| re(format!("^{NUM}")));
/// A non-zero feature id, `0x<hex>:0x<hex>` (`%3A` in an embed's encoding).
static FEATURE_ID: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?i)(0x[0-9a-f]{1,16})(?::|%3A)(0x[0-9a-f]{1,16})".to_owned()));

/// One `!`-separated entry.
#[derive(Clone, Copy, Debug)]
struct Entry<'a> {
    field: u32,
    kind: u8,
    value: &'a str,
}

impl<'a> Entry<'a> {
    fn parse(token: &'a str) -> Option<Self> {
        let digits = token.bytes().take_while(u8::is_ascii_digit).count();
        let field = token.get(..digits)?.parse().ok()?;
        let kind = *token.as_bytes().get(digits)?;
        kind.is_ascii_lowercase().then(|| Self {
            field,
            kind,
            value: &token[digits + 1..],
        })
    }

    fn is(&self, field: u32, kind: u8) -> bool {
        (self.field, self.kind) == (field, kind)
    }

    /// The number the value starts with (the last entry of a block also holds the rest
    /// of the URL, `2d42.65?entry=ttu`); all of the value, for [`Self::whole_number`].
    fn number(&self) -> Option<&'a str> {
        LEADING_NUM.find(self.value).map(|m| m.as_str())
    }

    fn whole_number(&self) -> Option<&'a str> {
        self.number().filter(|n| n.len() == self.value.len())
    }

    /// How many entries after this one belong to it: a message's count, else none.
    fn contents(&self) -> usize {
        if self.kind != b'm' {
            return 0;
        }
        let digits = self.value.bytes().take_while(u8::is_ascii_digit).count();
        self.value[..digits].parse().unwrap_or(usize::MAX)
    }
}

/// The entries of a link, in order; `None` where a piece is not an entry.
pub(super) struct Block<'a> {
    entries: Vec<Option<Entry<'a>>>,
}

impl<'a> Block<'a> {
    pub(super) fn read(text: &'a str) -> Self {
        Self {
            entries: text.split('!').skip(1).map(Entry::parse).collect(),
        }
    }

    fn entry(&self, i: usize) -> Option<Entry<'a>> {
        self.entries.get(i).copied().flatten()
    }

    /// One past the last entry that belongs to the entry at `i`, within `limit`.
    fn end(&self, i: usize, limit: usize) -> usize {
        let contents = self.entry(i).map_or(0, |e| e.contents());
        i.saturating_add(1).saturating_add(contents).min(limit)
    }

    /// The direct children of the message at `i`, with their indices.
    fn children(&self, i: usize) -> impl Iterator<Item = (usize, Entry<'a>)> + '_ {
        let end = self.end(i, self.entries.len());
        let mut j = i + 1;
        std::iter::from_fn(move || {
            while j < end {
                let here = j;
                j = self.end(here, end);
                if let Some(entry) = self.entry(here) {
                    return Some((here, entry));
                }
            }
            None
        })
    }

    fn messages(&self) -> impl Iterator<Item = (usize, Entry<'a>)> + '_ {
        (0..self.entries.len())
            .filter_map(|i| Some((i, self.entry(i)?)))
            .filter(|(_, e)| e.kind == b'm')
    }

    /// The place pin: the first `3d<lat>` directly followed by `4d<lng>`.
    pub(super) fn place(&self) -> Option<Found> {
        self.entries.windows(2).find_map(|pair| {
            let (lat, lng) = (pair[0]?, pair[1]?);
            if !(lat.is(3, b'd') && lng.is(4, b'd')) {
                return None;
            }
            Some(decimal_pair(lat.whole_number()?, lng.number()?))
        })
    }

    /// The destination of a directions block: the last stop's `1d<lng>`, `2d<lat>`.
    pub(super) fn destination(&self) -> Option<Found> {
        self.messages().find_map(|(i, _)| {
            let stops: Vec<usize> = self
                .children(i)
                .filter(|(_, e)| e.is(1, b'm'))
                .map(|(j, _)| j)
                .collect();
            if stops.len() < 2 {
                return None;
            }
            let last = *stops.last()?;
            let (at, _) = self.children(last).find(|(_, e)| e.is(2, b'm'))?;
            let mut lng = None;
            let mut lat = None;
            for (_, e) in self.children(at) {
                if e.is(1, b'd') {
                    lng = e.number();
                } else if e.is(2, b'd') {
                    lat = e.number();
                }
            }
            Some(decimal_pair(lat?, lng?))
        })
    }

    /// An embed's camera: a `1m3` message holding `1d<distance>`, `2d<lng>`, `3d<lat>`.
    pub(super) fn embed_camera(&self) -> Option<Found> {
        self.messages().find_map(|(i, message)| {
            if !message.is(1, b'm') {
                return None;
            }
            let children: Vec<Entry<'a>> = self.children(i).map(|(_, e)| e).collect();
            let [distance, lng, lat] = children.as_slice() else {
                return None;
            };
            if !(distance.is(1, b'd') && lng.is(2, b'd') && lat.is(3, b'd')) {
                return None;
            }
            Some(decimal_pair(lat.number()?, lng.number()?))
        })
    }

    /// The first non-zero feature id (`1s0x…:0x…`), as `0x…:0x…`.
    pub(super) fn feature_id(&self) -> Option<String> {
        self.entries.iter().flatten().find_map(|e| {
            if e.kind != b's' {
                return None;
            }
            let caps = FEATURE_ID.captures(e.value)?;
            let (a, b) = (caps.get(1)?.as_str(), caps.get(2)?.as_str());
            let zero = |h: &str| h[2..].bytes().all(|b| b == b'0');
            (!(zero(a) && zero(b))).then(|| format!("{a}:{b}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(found: Option<Found>) -> Option<(f64, f64)> {
        found.map(|f| f.map(|r| (r.lat, r.lng)).expect("a readable pair"))
    }

    #[test]
    fn a_stop_is_written_longitude_first() {
        // Two stops in Warsaw (52.14 N, 21.05 E); the first has a via point of its own.
        let block = Block::read(
            "data=!4m19!4m18!1m10!1m1!1s0x47192d82abded8f9:0xbd25f25d5bb49ffd!2m2\
             !1d21.0575824!2d52.1403392!3m4!1m2!1d21.0485162!2d52.1407609!3s0x47192d81:0xf0\
             !1m5!1m1!1s0x47192d81ce50d9e1:0xf1f58f0a051d2e85!2m2!1d21.0470319!2d52.1412447!3e2",
        );
        assert_eq!(point(block.destination()), Some((52.1412447, 21.0470319)));
    }

    #[test]
    fn a_destination_without_coordinates_gives_none() {
        let block = Block::read("data=!4m8!4m7!1m5!1m1!1s0x1:0x2!2m2!1d21.1!2d42.6!1m0?entry=ttu");
        assert_eq!(point(block.destination()), None);
    }

    #[test]
    fn a_block_cut_short_holds_what_there_is() {
        let block = Block::read("data=!4m99!4m98!1m0!1m5!1m1!1s0x1:0x2!2m2!1d21.1!2d42.6?hl=en");
        assert_eq!(point(block.destination()), Some((42.6, 21.1)));
    }

    #[test]
    fn the_embed_camera_is_longitude_then_latitude() {
        let block = Block::read(
            "embed?pb=!1m18!1m12!1m3!1d3111.33!2d-9.2299678!3d38.7559197!2m3!1f0!2f0!3f0\
             !3m2!1i1024!2i768!4f13.1!3m3!1m2!1s0xd1ecd05db2f959d%3A0x16d90a25b997894d",
        );
        assert_eq!(point(block.embed_camera()), Some((38.7559197, -9.2299678)));
        assert_eq!(
            block.feature_id().as_deref(),
            Some("0xd1ecd05db2f959d:0x16d90a25b997894d")
        );
    }

    #[test]
    fn the_zero_feature_id_names_nothing() {
        assert_eq!(Block::read("data=!4m2!3m1!1s0x0:0x0").feature_id(), None);
        assert_eq!(
            Block::read("data=!4m2!3m1!1s0x0:0x1f?entry=ttu")
                .feature_id()
                .as_deref(),
            Some("0x0:0x1f")
        );
    }
}
