//! The vector model of a styled code: filled paths with solid or gradient paint, an optional
//! logo image, in module units with the origin at the top left. One model, three writers
//! (SVG, PDF, EPS), so every style, logo and caption looks the same in every format.

use std::fmt::Write;
use std::sync::Arc;

use crate::logo::Logo;
use crate::{Color, Error};

/// Cubic Bézier handle length for a quarter circle of radius 1.
const KAPPA: f64 = 0.552_284_749_8;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Segment {
    Move(f64, f64),
    Line(f64, f64),
    Cubic(f64, f64, f64, f64, f64, f64),
    Close,
}

/// A path in module units (y down).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Path {
    pub segments: Vec<Segment>,
    at: (f64, f64),
}

impl Path {
    pub fn move_to(&mut self, x: f64, y: f64) {
        self.segments.push(Segment::Move(x, y));
        self.at = (x, y);
    }

    pub fn line_to(&mut self, x: f64, y: f64) {
        self.segments.push(Segment::Line(x, y));
        self.at = (x, y);
    }

    pub fn cubic_to(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, x: f64, y: f64) {
        self.segments.push(Segment::Cubic(x1, y1, x2, y2, x, y));
        self.at = (x, y);
    }

    /// A quadratic curve, stored as the equivalent cubic.
    pub fn quad_to(&mut self, x1: f64, y1: f64, x: f64, y: f64) {
        let (x0, y0) = self.at;
        let c1 = (x0 + 2.0 / 3.0 * (x1 - x0), y0 + 2.0 / 3.0 * (y1 - y0));
        let c2 = (x + 2.0 / 3.0 * (x1 - x), y + 2.0 / 3.0 * (y1 - y));
        self.cubic_to(c1.0, c1.1, c2.0, c2.1, x, y);
    }

    pub fn close(&mut self) {
        self.segments.push(Segment::Close);
    }

    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64) {
        self.rounded_rect(x, y, w, h, [0.0; 4]);
    }

    /// A rectangle with its own radius per corner: top-left, top-right, bottom-right, bottom-left.
    pub fn rounded_rect(&mut self, x: f64, y: f64, w: f64, h: f64, [tl, tr, br, bl]: [f64; 4]) {
        let k = KAPPA;
        self.move_to(x + tl, y);
        self.line_to(x + w - tr, y);
        if tr > 0.0 {
            self.cubic_to(
                x + w - tr + tr * k,
                y,
                x + w,
                y + tr - tr * k,
                x + w,
                y + tr,
            );
        }
        self.line_to(x + w, y + h - br);
        if br > 0.0 {
            self.cubic_to(
                x + w,
                y + h - br + br * k,
                x + w - br + br * k,
                y + h,
                x + w - br,
                y + h,
            );
        }
        self.line_to(x + bl, y + h);
        if bl > 0.0 {
            self.cubic_to(
                x + bl - bl * k,
                y + h,
                x,
                y + h - bl + bl * k,
                x,
                y + h - bl,
            );
        }
        self.line_to(x, y + tl);
        if tl > 0.0 {
            self.cubic_to(x, y + tl - tl * k, x + tl - tl * k, y, x + tl, y);
        }
        self.close();
    }

    pub fn circle(&mut self, cx: f64, cy: f64, r: f64) {
        self.rounded_rect(cx - r, cy - r, 2.0 * r, 2.0 * r, [r; 4]);
    }
}

/// How a layer is painted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Paint {
    Solid(Color),
    /// From `start` at `from` to `end` at `to`.
    Linear {
        from: (f64, f64),
        to: (f64, f64),
        start: Color,
        end: Color,
    },
    /// From `start` at the centre to `end` at `radius`.
    Radial {
        centre: (f64, f64),
        radius: f64,
        start: Color,
        end: Color,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layer {
    pub path: Path,
    pub paint: Paint,
    pub even_odd: bool,
}

/// A logo placed in a square box.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlacedLogo {
    pub logo: Arc<Logo>,
    pub x: f64,
    pub y: f64,
    pub size: f64,
}

/// Everything a styled code is drawn with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Drawing {
    pub width: f64,
    pub height: f64,
    pub background: Option<Color>,
    pub layers: Vec<Layer>,
    pub logo: Option<PlacedLogo>,
}

fn num(v: f64) -> String {
    let rounded = (v * 1000.0).round() / 1000.0;
    if rounded == 0.0 {
        "0".to_owned()
    } else {
        format!("{rounded}")
    }
}

fn unit(channel: u8) -> f64 {
    f64::from(channel) / 255.0
}

impl Drawing {
    /// An SVG document, `pixels_wide` wide by default.
    pub fn to_svg(&self, pixels_wide: u64) -> String {
        let mut svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="{pixels_wide}">"#,
            num(self.width),
            num(self.height)
        );
        let mut defs = String::new();
        for (i, layer) in self.layers.iter().enumerate() {
            match layer.paint {
                Paint::Solid(_) => {}
                Paint::Linear {
                    from,
                    to,
                    start,
                    end,
                } => {
                    let _ = write!(
                        defs,
                        r#"<linearGradient id="g{i}" gradientUnits="userSpaceOnUse" x1="{}" y1="{}" x2="{}" y2="{}"><stop offset="0" stop-color="{}"/><stop offset="1" stop-color="{}"/></linearGradient>"#,
                        num(from.0),
                        num(from.1),
                        num(to.0),
                        num(to.1),
                        start.hex_rgb(),
                        end.hex_rgb()
                    );
                }
                Paint::Radial {
                    centre,
                    radius,
                    start,
                    end,
                } => {
                    let _ = write!(
                        defs,
                        r#"<radialGradient id="g{i}" gradientUnits="userSpaceOnUse" cx="{}" cy="{}" r="{}"><stop offset="0" stop-color="{}"/><stop offset="1" stop-color="{}"/></radialGradient>"#,
                        num(centre.0),
                        num(centre.1),
                        num(radius),
                        start.hex_rgb(),
                        end.hex_rgb()
                    );
                }
            }
        }
        if !defs.is_empty() {
            let _ = write!(svg, "<defs>{defs}</defs>");
        }
        if let Some(background) = self.background {
            let _ = write!(
                svg,
                r#"<path fill="{}"{} d="M0 0H{}V{}H0z"/>"#,
                background.hex_rgb(),
                svg_opacity(background),
                num(self.width),
                num(self.height)
            );
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let (fill, opacity) = match layer.paint {
                Paint::Solid(color) => (color.hex_rgb(), svg_opacity(color)),
                Paint::Linear { start, .. } | Paint::Radial { start, .. } => {
                    (format!("url(#g{i})"), svg_opacity(start))
                }
            };
            let rule = if layer.even_odd {
                r#" fill-rule="evenodd""#
            } else {
                ""
            };
            let _ = write!(svg, r#"<path fill="{fill}"{opacity}{rule} d=""#);
            write_segments(&mut svg, &layer.path, Syntax::Svg);
            svg.push_str(r#""/>"#);
        }
        if let Some(placed) = &self.logo {
            use base64::Engine;
            let data = base64::engine::general_purpose::STANDARD.encode(placed.logo.png());
            let _ = write!(
                svg,
                r#"<image x="{}" y="{}" width="{}" height="{}" preserveAspectRatio="xMidYMid meet" href="data:image/png;base64,{data}"/>"#,
                num(placed.x),
                num(placed.y),
                num(placed.size),
                num(placed.size)
            );
        }
        svg.push_str("</svg>");
        svg
    }

    /// A one-page PDF, `module_pt` points per module.
    pub fn to_pdf(&self, module_pt: f32) -> Result<Vec<u8>, Error> {
        use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref};
        let (w, h) = (
            self.width as f32 * module_pt,
            self.height as f32 * module_pt,
        );
        let mut pdf = Pdf::new();
        let (catalog, pages, page, contents) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4));
        let mut next_ref = 5;
        let mut fresh = || {
            next_ref += 1;
            Ref::new(next_ref)
        };
        let mut content = Content::new();
        content.transform([module_pt, 0.0, 0.0, -module_pt, 0.0, h]);
        if let Some(background) = self.background {
            content.set_fill_rgb(
                unit(background.r) as f32,
                unit(background.g) as f32,
                unit(background.b) as f32,
            );
            content.rect(0.0, 0.0, self.width as f32, self.height as f32);
            content.fill_nonzero();
        }
        let mut shadings = Vec::new();
        for layer in &self.layers {
            let trace = |content: &mut Content| {
                for segment in &layer.path.segments {
                    match *segment {
                        Segment::Move(x, y) => content.move_to(x as f32, y as f32),
                        Segment::Line(x, y) => content.line_to(x as f32, y as f32),
                        Segment::Cubic(a, b, c, d, e, f) => content
                            .cubic_to(a as f32, b as f32, c as f32, d as f32, e as f32, f as f32),
                        Segment::Close => content.close_path(),
                    };
                }
            };
            match layer.paint {
                Paint::Solid(color) => {
                    content.set_fill_rgb(
                        unit(color.r) as f32,
                        unit(color.g) as f32,
                        unit(color.b) as f32,
                    );
                    trace(&mut content);
                    if layer.even_odd {
                        content.fill_even_odd()
                    } else {
                        content.fill_nonzero()
                    };
                }
                Paint::Linear { start, end, .. } | Paint::Radial { start, end, .. } => {
                    let name = format!("Sh{}", shadings.len());
                    content.save_state();
                    trace(&mut content);
                    if layer.even_odd {
                        content.clip_even_odd()
                    } else {
                        content.clip_nonzero()
                    };
                    content.end_path();
                    content.shading(Name(name.as_bytes()));
                    content.restore_state();
                    shadings.push((name, layer.paint, start, end, fresh(), fresh()));
                }
            }
        }
        let mut image = None;
        if let Some(placed) = &self.logo {
            let (x, y, s) = (placed.x as f32, placed.y as f32, placed.size as f32);
            let (rgba, iw, ih) = placed.logo.rgba()?;
            // Fit the logo's aspect ratio inside its square box, centred.
            let (dw, dh) = if iw >= ih {
                (s, s * ih as f32 / iw as f32)
            } else {
                (s * iw as f32 / ih as f32, s)
            };
            content.save_state();
            content.transform([
                dw,
                0.0,
                0.0,
                -dh,
                x + (s - dw) / 2.0,
                y + (s - dh) / 2.0 + dh,
            ]);
            content.x_object(Name(b"Logo"));
            content.restore_state();
            image = Some((rgba, iw, ih, fresh(), fresh()));
        }

        pdf.catalog(catalog).pages(pages);
        pdf.pages(pages).kids([page]).count(1);
        let mut page_writer = pdf.page(page);
        page_writer.media_box(Rect::new(0.0, 0.0, w, h));
        page_writer.parent(pages);
        page_writer.contents(contents);
        let mut resources = page_writer.resources();
        if !shadings.is_empty() {
            let mut dict = resources.shadings();
            for (name, _, _, _, shading, _) in &shadings {
                dict.pair(Name(name.as_bytes()), *shading);
            }
            dict.finish();
        }
        if let Some((_, _, _, id, _)) = &image {
            resources.x_objects().pair(Name(b"Logo"), *id);
        }
        resources.finish();
        page_writer.finish();
        pdf.stream(contents, &content.finish());
        for (_, paint, start, end, shading_id, function_id) in &shadings {
            let rgb = |c: &Color| [unit(c.r) as f32, unit(c.g) as f32, unit(c.b) as f32];
            pdf.exponential_function(*function_id)
                .domain([0.0, 1.0])
                .c0(rgb(start))
                .c1(rgb(end))
                .n(1.0);
            let mut shading = pdf.function_shading(*shading_id);
            shading.color_space().device_rgb();
            shading.function(*function_id);
            shading.extend([true, true]);
            match *paint {
                Paint::Linear { from, to, .. } => {
                    shading.shading_type(pdf_writer::types::FunctionShadingType::Axial);
                    shading.coords([from.0 as f32, from.1 as f32, to.0 as f32, to.1 as f32]);
                }
                Paint::Radial { centre, radius, .. } => {
                    shading.shading_type(pdf_writer::types::FunctionShadingType::Radial);
                    shading.coords([
                        centre.0 as f32,
                        centre.1 as f32,
                        0.0,
                        centre.0 as f32,
                        centre.1 as f32,
                        radius as f32,
                    ]);
                }
                Paint::Solid(_) => {}
            }
            shading.finish();
        }
        if let Some((rgba, iw, ih, id, mask_id)) = image {
            let rgb: Vec<u8> = rgba
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            let alpha: Vec<u8> = rgba.chunks_exact(4).map(|p| p[3]).collect();
            let (rgb, alpha) = (deflate(&rgb), deflate(&alpha));
            let mut xobject = pdf.image_xobject(id, &rgb);
            xobject.filter(Filter::FlateDecode);
            xobject
                .width(iw as i32)
                .height(ih as i32)
                .bits_per_component(8);
            xobject.color_space().device_rgb();
            xobject.s_mask(mask_id);
            xobject.finish();
            let mut mask = pdf.image_xobject(mask_id, &alpha);
            mask.filter(Filter::FlateDecode);
            mask.width(iw as i32)
                .height(ih as i32)
                .bits_per_component(8);
            mask.color_space().device_gray();
            mask.finish();
        }
        Ok(pdf.finish())
    }

    /// An EPS document, `module_pt` points per module (PostScript level 3 for gradients).
    pub fn to_eps(&self, module_pt: f64) -> Result<Vec<u8>, Error> {
        let (w, h) = (self.width * module_pt, self.height * module_pt);
        let mut eps = format!(
            "%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 {} {}\n%%HiResBoundingBox: 0 0 {w:.4} {h:.4}\n%%LanguageLevel: 3\n%%Creator: qrlink\n%%Pages: 1\n%%EndComments\ngsave\n",
            w.ceil() as u64,
            h.ceil() as u64,
        );
        // Module units, y down, like the other writers.
        let _ = writeln!(
            eps,
            "0 {h:.4} translate {module_pt:.6} -{module_pt:.6} scale"
        );
        let rgb = |c: Color| format!("{:.4} {:.4} {:.4}", unit(c.r), unit(c.g), unit(c.b));
        if let Some(background) = self.background {
            let _ = writeln!(
                eps,
                "{} setrgbcolor 0 0 {} {} rectfill",
                rgb(background),
                num(self.width),
                num(self.height)
            );
        }
        for layer in &self.layers {
            eps.push_str("newpath\n");
            write_segments(&mut eps, &layer.path, Syntax::PostScript);
            let fill = if layer.even_odd { "eofill" } else { "fill" };
            let clip = if layer.even_odd { "eoclip" } else { "clip" };
            let shade = |kind: u8, coords: String, start: Color, end: Color| {
                format!(
                    "gsave {clip} << /ShadingType {kind} /ColorSpace /DeviceRGB /Coords [{coords}] /Extend [true true] /Function << /FunctionType 2 /Domain [0 1] /C0 [{}] /C1 [{}] /N 1 >> >> shfill grestore\n",
                    rgb(start),
                    rgb(end)
                )
            };
            match layer.paint {
                Paint::Solid(color) => {
                    let _ = writeln!(eps, "{} setrgbcolor {fill}", rgb(color));
                }
                Paint::Linear {
                    from,
                    to,
                    start,
                    end,
                } => {
                    eps.push_str(&shade(
                        2,
                        format!(
                            "{} {} {} {}",
                            num(from.0),
                            num(from.1),
                            num(to.0),
                            num(to.1)
                        ),
                        start,
                        end,
                    ));
                }
                Paint::Radial {
                    centre,
                    radius,
                    start,
                    end,
                } => {
                    let (cx, cy) = (num(centre.0), num(centre.1));
                    eps.push_str(&shade(
                        3,
                        format!("{cx} {cy} 0 {cx} {cy} {}", num(radius)),
                        start,
                        end,
                    ));
                }
            }
        }
        if let Some(placed) = &self.logo {
            // EPS has no transparency: the logo is blended over its plate, which is white or the
            // light colour, before it is written.
            let (rgba, iw, ih) = placed.logo.rgba()?;
            let plate = self.background.filter(|c| c.a > 0).unwrap_or(Color::WHITE);
            let s = placed.size;
            let (dw, dh) = if iw >= ih {
                (s, s * f64::from(ih) / f64::from(iw))
            } else {
                (s * f64::from(iw) / f64::from(ih), s)
            };
            let _ = writeln!(
                eps,
                "gsave {} {} translate {} {} scale",
                num(placed.x + (s - dw) / 2.0),
                num(placed.y + (s - dh) / 2.0),
                num(dw),
                num(dh)
            );
            let _ = writeln!(
                eps,
                "{iw} {ih} 8 [{iw} 0 0 {ih} 0 0] currentfile /ASCIIHexDecode filter false 3 colorimage"
            );
            let mut column = 0;
            for p in rgba.chunks_exact(4) {
                let a = u32::from(p[3]);
                for (c, back) in [(p[0], plate.r), (p[1], plate.g), (p[2], plate.b)] {
                    let blended = (u32::from(c) * a + u32::from(back) * (255 - a)) / 255;
                    let _ = write!(eps, "{blended:02x}");
                    column += 2;
                    if column >= 72 {
                        eps.push('\n');
                        column = 0;
                    }
                }
            }
            eps.push_str(">\ngrestore\n");
        }
        eps.push_str("grestore\nshowpage\n%%EOF\n");
        Ok(eps.into_bytes())
    }
}

/// Path syntaxes: SVG `d` attributes and PostScript operators.
#[derive(Clone, Copy)]
enum Syntax {
    Svg,
    PostScript,
}

fn write_segments(out: &mut String, path: &Path, syntax: Syntax) {
    for segment in &path.segments {
        let _ = match (*segment, syntax) {
            (Segment::Move(x, y), Syntax::Svg) => write!(out, "M{} {}", num(x), num(y)),
            (Segment::Line(x, y), Syntax::Svg) => write!(out, "L{} {}", num(x), num(y)),
            (Segment::Cubic(a, b, c, d, e, f), Syntax::Svg) => {
                write!(
                    out,
                    "C{} {} {} {} {} {}",
                    num(a),
                    num(b),
                    num(c),
                    num(d),
                    num(e),
                    num(f)
                )
            }
            (Segment::Close, Syntax::Svg) => write!(out, "z"),
            (Segment::Move(x, y), Syntax::PostScript) => {
                writeln!(out, "{} {} moveto", num(x), num(y))
            }
            (Segment::Line(x, y), Syntax::PostScript) => {
                writeln!(out, "{} {} lineto", num(x), num(y))
            }
            (Segment::Cubic(a, b, c, d, e, f), Syntax::PostScript) => {
                writeln!(
                    out,
                    "{} {} {} {} {} {} curveto",
                    num(a),
                    num(b),
                    num(c),
                    num(d),
                    num(e),
                    num(f)
                )
            }
            (Segment::Close, Syntax::PostScript) => writeln!(out, "closepath"),
        };
    }
}

fn svg_opacity(color: Color) -> String {
    if color.is_opaque() {
        String::new()
    } else {
        format!(r#" fill-opacity="{:.3}""#, f64::from(color.a) / 255.0)
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}
