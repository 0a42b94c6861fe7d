//! Styles (R-QR-3): module shapes, finder-pattern ("eye") shapes and gradient fills. A styled
//! code is drawn as vector shapes in SVG, and rasterised from that SVG for PNG.

use crate::Error;
use crate::color::Color;

/// How each dark module is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ModuleShape {
    #[default]
    /// The standard square modules.
    Square,
    /// Squares whose outer corners are rounded where no neighbour continues them.
    Rounded,
    /// Round dots, 0.8 modules wide.
    Dot,
    /// Squares 0.8 modules wide, with gaps between them.
    Gapped,
    /// Horizontal runs drawn as rounded bars.
    HorizontalBars,
    /// Vertical runs drawn as rounded bars.
    VerticalBars,
}

/// How the three 7x7 finder patterns are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FinderShape {
    #[default]
    /// The standard square rings.
    Square,
    /// Rings and centres with rounded corners.
    Rounded,
    /// Concentric circles.
    Dot,
}

/// How dark modules are coloured: the look's dark colour, or a gradient from it to a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fill {
    #[default]
    /// The look's dark colour throughout.
    Solid,
    /// From the top-left corner (dark) to the bottom-right (this colour).
    Linear(Color),
    /// From the centre (dark) to the corners (this colour).
    Radial(Color),
}

/// The whole style; the default is the plain standard symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Style {
    /// How dark modules are drawn.
    pub shape: ModuleShape,
    /// How finder patterns are drawn.
    pub finder: FinderShape,
    /// How dark modules are coloured.
    pub fill: Fill,
}

impl Style {
    /// True for the standard look: square modules and finders, one colour.
    pub fn is_plain(&self) -> bool {
        *self == Style::default()
    }

    /// The colours dark modules take, for contrast checks: the dark colour and a gradient's end.
    pub fn dark_extremes(&self, dark: Color) -> [Color; 2] {
        match self.fill {
            Fill::Solid => [dark, dark],
            Fill::Linear(end) | Fill::Radial(end) => [dark, end],
        }
    }
}

impl ModuleShape {
    /// Parses `square`, `rounded`, `dot`, `gapped`, `hbars` or `vbars`.
    pub fn parse(input: &str) -> Result<ModuleShape, Error> {
        Ok(match input.trim().to_ascii_lowercase().as_str() {
            "square" => ModuleShape::Square,
            "rounded" => ModuleShape::Rounded,
            "dot" | "dots" => ModuleShape::Dot,
            "gapped" => ModuleShape::Gapped,
            "hbars" => ModuleShape::HorizontalBars,
            "vbars" => ModuleShape::VerticalBars,
            other => {
                return Err(Error::option(
                    "shape",
                    "one_of",
                    format!(
                        "`{other}` is not a module shape: use square, rounded, dot, gapped, hbars or vbars"
                    ),
                ));
            }
        })
    }
}

impl FinderShape {
    /// Parses `square`, `rounded` or `dot`.
    pub fn parse(input: &str) -> Result<FinderShape, Error> {
        Ok(match input.trim().to_ascii_lowercase().as_str() {
            "square" => FinderShape::Square,
            "rounded" => FinderShape::Rounded,
            "dot" | "circle" => FinderShape::Dot,
            other => {
                return Err(Error::option(
                    "finder",
                    "one_of",
                    format!("`{other}` is not a finder shape: use square, rounded or dot"),
                ));
            }
        })
    }
}
