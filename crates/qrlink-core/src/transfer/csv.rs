//! CSV: qrlink's own columns, and the exports of other shorteners, recognised by their header
//! (see `docs/IMPORT.md`). Header names are compared without case, spaces or underscores.

use std::io::Write;

use super::{Fields, ImportContext, ImportRow, Parsed, Source, printable};
use crate::error::{Invalid, Rejection, Result};
use crate::link::LinkStatus;
use crate::store::Store;

/// qrlink's CSV columns, in the order it writes them.
pub(super) const HEADER: [&str; 6] = ["slug", "target", "title", "tags", "status", "locked"];

/// Where each field is in a file's rows, and how that file writes tags and slugs.
#[derive(Debug)]
struct Columns {
    source: Source,
    slug: usize,
    target: usize,
    title: Option<usize>,
    tags: Option<usize>,
    tag_separator: char,
    status: Option<usize>,
    locked: Option<usize>,
    /// Bitly's archived flag, which becomes a retired link.
    archived: Option<usize>,
    /// The slug column holds a whole short URL (`https://bit.ly/abc`); its path is the slug.
    slug_is_url: bool,
}

impl Columns {
    /// Recognises the format from the header, or says which columns are missing.
    fn recognise(header: &csv::StringRecord) -> Result<Columns, Invalid> {
        let names: Vec<String> = header
            .iter()
            .map(|name| {
                name.trim_start_matches('\u{feff}')
                    .to_lowercase()
                    .replace([' ', '_'], "")
            })
            .collect();
        for (index, name) in names.iter().enumerate() {
            if let Some(first) = names[..index].iter().position(|earlier| earlier == name)
                && !name.is_empty()
            {
                return Err(Invalid::new(
                    "header",
                    "duplicate_column",
                    format!(
                        "column {} (`{}`) repeats column {}: each column may appear once",
                        index + 1,
                        printable(&header[index]),
                        first + 1
                    ),
                ));
            }
        }
        let find = |candidates: &[&str]| {
            names
                .iter()
                .position(|name| candidates.contains(&name.as_str()))
        };
        let columns = |source, slug, target, title| Columns {
            source,
            slug,
            target,
            title,
            tags: None,
            tag_separator: ';',
            status: None,
            locked: None,
            archived: None,
            slug_is_url: false,
        };
        if let (Some(slug), Some(target)) = (find(&["slug"]), find(&["target"])) {
            for (index, name) in names.iter().enumerate() {
                if !HEADER.contains(&name.as_str()) {
                    return Err(Invalid::new(
                        "header",
                        "known_columns",
                        format!(
                            "column {} (`{}`) is not one of qrlink's CSV columns: {}",
                            index + 1,
                            printable(&header[index]),
                            HEADER.join(",")
                        ),
                    ));
                }
            }
            return Ok(Columns {
                tags: find(&["tags"]),
                status: find(&["status"]),
                locked: find(&["locked"]),
                ..columns(Source::QrlinkCsv, slug, target, find(&["title"]))
            });
        }
        if let (Some(slug), Some(target)) = (find(&["shortcode"]), find(&["longurl"])) {
            return Ok(Columns {
                tags: find(&["tags"]),
                tag_separator: '|',
                ..columns(Source::Shlink, slug, target, find(&["title"]))
            });
        }
        if let (Some(slug), Some(target)) = (find(&["keyword"]), find(&["url"])) {
            return Ok(columns(Source::Yourls, slug, target, find(&["title"])));
        }
        if let (Some(slug), Some(target)) = (find(&["address"]), find(&["target"])) {
            return Ok(columns(Source::Kutt, slug, target, find(&["description"])));
        }
        if let (Some(slug), Some(target)) = (
            find(&["link", "bitlink", "shortlink", "id"]),
            find(&["longurl"]),
        ) {
            return Ok(Columns {
                tags: find(&["tags"]),
                tag_separator: ',',
                archived: find(&["archived"]),
                slug_is_url: true,
                ..columns(Source::Bitly, slug, target, find(&["title"]))
            });
        }
        Err(Invalid::new(
            "header",
            "known_format",
            "the first row names no known columns: qrlink's CSV has `slug` and `target`; \
             Shlink's `Short code` and `Long URL`; YOURLS' `keyword` and `url`; Kutt's `address` \
             and `target`; Bitly's `link` and `long_url`",
        ))
    }

    /// The fields of one row. Bitly short links keep their path only, lowercased like every
    /// slug (so `AbC` and `abc`, different links there, collide here and are reported).
    fn fields<'a>(&self, row: &'a csv::StringRecord) -> Result<Fields<'a>, Invalid> {
        let cell = |index: Option<usize>| index.and_then(|index| row.get(index)).unwrap_or("");
        let mut slug = cell(Some(self.slug)).trim();
        if self.slug_is_url {
            slug = slug
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
        }
        let status = match cell(self.status).trim() {
            "" | "active" => None,
            "retired" => Some(LinkStatus::Retired),
            _ => {
                return Err(Invalid::new(
                    "status",
                    "one_of",
                    "status is `active` or `retired`",
                ));
            }
        };
        let archived = parse_bool("archived", cell(self.archived))?;
        Ok(Fields {
            slug,
            target: cell(Some(self.target)).trim(),
            title: cell(self.title),
            tags: cell(self.tags).split(self.tag_separator).collect(),
            status: if archived {
                Some(LinkStatus::Retired)
            } else {
                status
            },
            locked: parse_bool("locked", cell(self.locked))?,
            ..Fields::default()
        })
    }
}

fn parse_bool(field: &'static str, cell: &str) -> Result<bool, Invalid> {
    match cell.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" => Ok(false),
        "true" | "yes" | "1" => Ok(true),
        _ => Err(Invalid::new(
            field,
            "boolean",
            format!("{field} is `true` or `false`"),
        )),
    }
}

pub(super) fn parse(file: &[u8], context: &ImportContext<'_>) -> (Parsed, Vec<Rejection>) {
    let mut parsed = Parsed {
        source: Source::QrlinkCsv,
        rows: Vec::new(),
    };
    let mut rejections = Vec::new();
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let columns = match reader
        .headers()
        .map_err(|error| csv_rejection(&error))
        .and_then(|header| {
            Columns::recognise(header).map_err(|invalid| Rejection { line: 1, invalid })
        }) {
        Ok(columns) => columns,
        Err(rejection) => return (parsed, vec![rejection]),
    };
    parsed.source = columns.source;
    let width = reader
        .headers()
        .map(csv::StringRecord::len)
        .unwrap_or_default();
    let reason = format!("imported from a {} file", columns.source.name());
    let mut row = csv::StringRecord::new();
    let mut lines = LineCounter::new(file);
    loop {
        match reader.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let mut rejection = csv_rejection(&error);
                if let Some(position) = error.position() {
                    rejection.line = lines.line_at(position.byte());
                }
                rejections.push(rejection);
                continue;
            }
        }
        let line = row
            .position()
            .map_or(0, |position| lines.line_at(position.byte()));
        if row.len() != width {
            let message = format!("the row has {} cells; the header has {width}", row.len());
            rejections.push(Rejection {
                line,
                invalid: Invalid::new("row", "columns", message),
            });
            continue;
        }
        let record = columns.fields(&row).and_then(|mut fields| {
            if columns.source == Source::QrlinkCsv {
                fields.title = unneutralise(fields.title);
                fields.tags = fields.tags.into_iter().map(unneutralise).collect();
            }
            fields.into_record(context, &reason)
        });
        match record {
            Ok(record) => parsed.rows.push(ImportRow { line, record }),
            Err(invalid) => rejections.push(Rejection { line, invalid }),
        }
    }
    (parsed, rejections)
}

/// Line numbers from byte offsets, counted by `\n` alone: the csv crate's own count is one
/// short in a file whose lines end in `\r\n`. Offsets come in increasing order, so the count
/// only moves forward and a whole file is counted once.
struct LineCounter<'a> {
    file: &'a [u8],
    byte: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(file: &'a [u8]) -> LineCounter<'a> {
        LineCounter {
            file,
            byte: 0,
            line: 1,
        }
    }

    /// The line of the record that starts at `offset`. After a `\r\n`, the csv crate starts
    /// the next record at the `\n`; terminators there are skipped.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.file.len());
        while self
            .file
            .get(offset)
            .is_some_and(|b| *b == b'\n' || *b == b'\r')
        {
            offset += 1;
        }
        if offset < self.byte {
            (self.byte, self.line) = (0, 1);
        }
        let newlines = self.file[self.byte..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.line += newlines as u64;
        self.byte = offset;
        self.line
    }
}

fn csv_rejection(error: &csv::Error) -> Rejection {
    let line = error.position().map_or(1, csv::Position::line);
    let message = format!("unreadable CSV: {}", printable(&error.to_string()));
    Rejection {
        line,
        invalid: Invalid::new("row", "csv", message),
    }
}

pub(super) async fn export(store: &Store, out: &mut (dyn Write + Send)) -> Result<u64> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(HEADER).map_err(std::io::Error::from)?;
    let exported = store
        .export_links(&mut |record| {
            let link = &record.link;
            let tags: Vec<&str> = link.tags.iter().map(|tag| tag.as_str()).collect();
            let tags = tags.join(";");
            let row = [
                link.slug.as_str(),
                link.target.as_str(),
                &neutralise(&link.title),
                &neutralise(&tags),
                link.status.as_str(),
                if link.locked { "true" } else { "false" },
            ];
            writer.write_record(row).map_err(std::io::Error::from)?;
            Ok(())
        })
        .await?;
    writer.flush()?;
    Ok(exported)
}

/// Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula, so such a cell
/// is written with a leading `'` (the OWASP advice). A cell of quotes and then one of those
/// gets one more quote, so that [`unneutralise`] gives back exactly what was written.
fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if starts_formula(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The inverse of [`neutralise`], for qrlink's own CSV.
fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if starts_formula(rest) => rest,
        _ => cell,
    }
}

/// Whether a spreadsheet would see a formula once leading quotes are taken off.
fn starts_formula(cell: &str) -> bool {
    cell.trim_start_matches('\'')
        .starts_with(['=', '+', '-', '@'])
}

#[cfg(test)]
mod tests {
    use super::{neutralise, parse, unneutralise};
    use crate::base_url::BaseUrl;
    use crate::link::{Actor, Interface};
    use crate::target::TargetPolicy;

    /// The lines of the rejected rows of `file`.
    fn rejected_lines(file: &str) -> Vec<(u64, &'static str)> {
        let policy = TargetPolicy {
            base: BaseUrl::parse("https://go.example.org").unwrap(),
            allow_private: false,
        };
        let actor = Actor::new("test", Interface::Cli);
        let context = super::ImportContext {
            policy: &policy,
            actor: &actor,
            now: jiff::Timestamp::UNIX_EPOCH,
        };
        let (_, rejections) = parse(file.as_bytes(), &context);
        rejections
            .iter()
            .map(|r| (r.line, r.invalid.rule))
            .collect()
    }

    #[test]
    fn rejected_rows_name_their_line_with_a_bom_crlf_and_quoted_newlines() {
        let rows = "slug,target\nok,https://example.org/a\nbad slug,https://example.org/b\n\
                    \"x\ny\",https://example.org/c\nfine,javascript:x\n";
        let expected = vec![(3, "alphabet"), (4, "alphabet"), (6, "scheme")];
        assert_eq!(rejected_lines(rows), expected, "plain");
        let crlf = rows.replace('\n', "\r\n");
        assert_eq!(rejected_lines(&crlf), expected, "CRLF");
        assert_eq!(
            rejected_lines(&format!("\u{feff}{crlf}")),
            expected,
            "BOM and CRLF"
        );
    }

    #[test]
    fn a_header_that_names_a_column_twice_is_refused() {
        assert_eq!(
            rejected_lines("slug,target,Slug\na,https://example.org/a,b\n"),
            vec![(1, "duplicate_column")]
        );
    }

    #[test]
    fn neutralised_cells_start_with_no_formula_and_read_back_exactly() {
        for cell in [
            "=1+1", "+1", "-x", "@SUM(A1)", "'=x", "''=x", "'plain", "plain", "",
        ] {
            let written = neutralise(cell);
            assert!(
                !written.starts_with(['=', '+', '-', '@']),
                "{cell:?} written as {written:?}"
            );
            assert_eq!(
                unneutralise(&written),
                cell,
                "{cell:?} written as {written:?}"
            );
        }
    }
}
