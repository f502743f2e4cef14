//! Equality of Arrow string views with constants, read from the rows' 16-byte views.
//!
//! A `Utf8View` row is a 16-byte view: its length (4 bytes), then either the string itself
//! (12 bytes or fewer, zero-padded) or its first 4 bytes and where the rest lives. Testing a
//! row against a constant of 12 bytes or fewer therefore needs only the view, and against a
//! longer one, the view's first 8 bytes before the rare full comparison.

/// What a row's view must hold to equal a constant.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ViewProbe {
    /// A constant of at most 12 bytes: the view's length and inline bytes, compared under
    /// `mask` so that whatever follows the string in the view is ignored.
    Inline { view: u128, mask: u128 },
    /// A longer constant: the view's first 8 bytes (length and 4-byte prefix), after which the
    /// bytes themselves are compared.
    Outside { head: u64 },
}

impl ViewProbe {
    /// The probe for `constant`.
    pub(crate) fn new(constant: &[u8]) -> Self {
        let length = constant.len();
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&(length as u32).to_le_bytes());
        if length <= 12 {
            bytes[4..4 + length].copy_from_slice(constant);
            let bits = 32 + 8 * length;
            let mask = if bits == 128 {
                u128::MAX
            } else {
                (1u128 << bits) - 1
            };
            Self::Inline {
                view: u128::from_le_bytes(bytes),
                mask,
            }
        } else {
            bytes[4..8].copy_from_slice(&constant[..4]);
            Self::Outside {
                head: u128::from_le_bytes(bytes) as u64,
            }
        }
    }
}

/// The top bit of every byte of an inline view's string (bytes 4 to 15).
const STRING_TOP_BITS: u128 = u128::from_le_bytes([0x80; 16]) & !0xFFFF_FFFF;

/// Whether `view` holds its string inline (12 bytes or fewer) and the string is ASCII: then
/// its lowercase form (`str::to_lowercase`) has the same length and lowercases byte by byte.
pub(crate) fn is_inline_ascii(view: u128) -> bool {
    view as u32 <= 12 && view & STRING_TOP_BITS == 0
}

/// Every byte of a view set to `byte`.
const fn every_byte(byte: u8) -> u128 {
    u128::from_le_bytes([byte; 16])
}

/// The view of an inline ASCII string ([`is_inline_ascii`]) lowercased: its uppercase letters
/// get their case bit (0x20), all twelve bytes at once. No byte of such a view reaches 0x80,
/// so adding 0x3F sets a byte's top bit exactly when it is `A` or above, and adding 0x25
/// exactly when it is above `Z`, without a carry into the next byte.
pub(crate) fn lowercase_inline_ascii(view: u128) -> u128 {
    let from_a = view + every_byte(0x80 - b'A');
    let beyond_z = view + every_byte(0x80 - (b'Z' + 1));
    let uppercase = from_a & !beyond_z & STRING_TOP_BITS;
    view | (uppercase >> 2)
}

/// What an inline ASCII view must hold for its string, lowercased, to equal a constant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LowercaseProbe {
    view: u128,
    mask: u128,
    /// The case bit (0x20) of each byte of the constant that is a letter: a view's byte
    /// with that bit set is the lowercase letter, whether the row had it in upper or lower case.
    letters: u128,
}

impl LowercaseProbe {
    /// The probe for `constant`, or `None` when no inline ASCII view can lowercase to it (it is
    /// longer than 12 bytes, not ASCII, or has uppercase letters).
    pub(crate) fn new(constant: &[u8]) -> Option<Self> {
        if constant.len() > 12
            || !constant
                .iter()
                .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
        {
            return None;
        }
        let ViewProbe::Inline { view, mask } = ViewProbe::new(constant) else {
            return None;
        };
        let mut letters = [0u8; 16];
        for (letter, byte) in letters[4..].iter_mut().zip(constant) {
            if byte.is_ascii_lowercase() {
                *letter = 0x20;
            }
        }
        Some(Self {
            view,
            mask,
            letters: u128::from_le_bytes(letters),
        })
    }

    /// Whether the inline ASCII `view` lowercases to the constant.
    pub(crate) fn matches(&self, view: u128) -> bool {
        ((view | self.letters) ^ self.view) & self.mask == 0
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::StringViewArray;
    use proptest::prelude::*;

    use super::*;

    fn view(text: &str) -> u128 {
        StringViewArray::from_iter_values([text]).views()[0]
    }

    proptest! {
        /// A lowercase probe matches an inline ASCII view exactly when the view's string,
        /// lowercased, is the constant; views of other strings are told apart.
        #[test]
        fn lowercase_probes_match_lowercased_strings(
            text in "[a-cA-C@\\[`{0-9]{0,13}|\\PC{0,5}",
            other in "[a-cA-C@\\[`{0-9]{0,13}|\\PC{0,3}",
            pick in 0..3,
        ) {
            let constant = match pick {
                0 => text.to_lowercase(),
                1 => text.clone(),
                _ => other,
            };
            let view = view(&text);
            prop_assert_eq!(is_inline_ascii(view), text.len() <= 12 && text.is_ascii());
            prop_assume!(is_inline_ascii(view));
            let wanted = text.to_lowercase() == constant;
            match LowercaseProbe::new(constant.as_bytes()) {
                Some(probe) => prop_assert_eq!(probe.matches(view), wanted),
                None => prop_assert!(!wanted),
            }
        }

        /// Lowercasing an inline ASCII view gives the view of the lowercased string.
        #[test]
        fn inline_views_lowercase_as_their_strings(text in "[ -~]{0,12}") {
            prop_assert_eq!(lowercase_inline_ascii(view(&text)), view(&text.to_lowercase()));
        }

        /// An exact probe of a short constant matches exactly the views of its constant.
        #[test]
        fn inline_probes_match_their_constant(a in "[ab]{0,12}", b in "[ab]{0,12}") {
            let ViewProbe::Inline { view: wanted, mask } = ViewProbe::new(b.as_bytes()) else {
                panic!("{b} is short");
            };
            prop_assert_eq!((view(&a) ^ wanted) & mask == 0, a == b);
        }
    }
}
