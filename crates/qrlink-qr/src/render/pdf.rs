//! PDF: one page of the exact physical size, the modules as filled rectangles (vector).

use pdf_writer::{Content, Finish, Pdf, Rect, Ref};

use super::{Look, check_print_colors, row_runs};
use crate::{Error, Symbol};

/// Millimetres to PDF points.
const POINTS_PER_MM: f32 = 72.0 / 25.4;

/// Writes a one-page PDF whose page is the code with its quiet zone, `look.module_um` per module.
pub fn to_pdf(symbol: &Symbol, look: &Look) -> Result<Vec<u8>, Error> {
    check_print_colors(look)?;
    if !look.is_plain() {
        return super::styled::drawing(symbol, look)?
            .to_pdf(look.module_um as f32 / 1000.0 * POINTS_PER_MM);
    }
    let border = look.border.unwrap_or_else(|| symbol.default_border());
    let side = (symbol.width() + 2 * border) as f32;
    let module = look.module_um as f32 / 1000.0 * POINTS_PER_MM;
    let page_side = side * module;

    let mut content = Content::new();
    // Work in module units with the origin at the top left, as the matrix is laid out.
    content.transform([module, 0.0, 0.0, -module, 0.0, page_side]);
    if look.light.a > 0 {
        content.set_fill_rgb(unit(look.light.r), unit(look.light.g), unit(look.light.b));
        content.rect(0.0, 0.0, side, side);
        content.fill_nonzero();
    }
    content.set_fill_rgb(unit(look.dark.r), unit(look.dark.g), unit(look.dark.b));
    for y in 0..symbol.width() {
        for (start, length) in row_runs(symbol.row(y)) {
            content.rect(
                (start + border) as f32,
                (y + border) as f32,
                length as f32,
                1.0,
            );
        }
    }
    content.fill_nonzero();

    let (catalog, pages, page, contents) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4));
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page]).count(1);
    let mut page_writer = pdf.page(page);
    page_writer.media_box(Rect::new(0.0, 0.0, page_side, page_side));
    page_writer.parent(pages);
    page_writer.contents(contents);
    page_writer.finish();
    pdf.stream(contents, &content.finish());
    Ok(pdf.finish())
}

fn unit(channel: u8) -> f32 {
    f32::from(channel) / 255.0
}
