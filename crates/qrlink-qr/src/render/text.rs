//! Text forms: the module matrix as `1`/`0` rows, and Unicode half blocks for terminals.

use crate::Symbol;

fn dark_with_border(symbol: &Symbol, border: usize, x: usize, y: usize) -> bool {
    x >= border && y >= border && symbol.is_dark(x - border, y - border)
}

/// One line per row, `1` dark and `0` light, quiet zone included (like segno's `txt`).
pub fn to_text_matrix(symbol: &Symbol, border: Option<usize>) -> String {
    let border = border.unwrap_or_else(|| symbol.default_border());
    let side = symbol.width() + 2 * border;
    let mut text = String::with_capacity(side * (side + 1));
    for y in 0..side {
        for x in 0..side {
            text.push(if dark_with_border(symbol, border, x, y) {
                '1'
            } else {
                '0'
            });
        }
        text.push('\n');
    }
    text
}

/// Two module rows per line with half blocks, drawn black on white with ANSI colours, so the
/// code has the right polarity on light and dark terminals alike.
pub fn to_terminal(symbol: &Symbol, border: Option<usize>) -> String {
    let border = border.unwrap_or_else(|| symbol.default_border());
    let side = symbol.width() + 2 * border;
    let mut text = String::new();
    for y in (0..side).step_by(2) {
        text.push_str("\x1b[30;107m");
        for x in 0..side {
            let top = dark_with_border(symbol, border, x, y);
            let bottom = y + 1 < side && dark_with_border(symbol, border, x, y + 1);
            text.push(match (top, bottom) {
                (true, true) => '\u{2588}',
                (true, false) => '\u{2580}',
                (false, true) => '\u{2584}',
                (false, false) => ' ',
            });
        }
        text.push_str("\x1b[0m\n");
    }
    text
}
