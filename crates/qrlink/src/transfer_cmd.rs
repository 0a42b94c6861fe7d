//! `qrlink export` and `qrlink import`: files in, files out, through `qrlink_core::transfer`.

use std::io::{BufWriter, Read, Write};
use std::path::Path;

use anyhow::Context;
use qrlink_core::clock::Clock;
use qrlink_core::link::{Actor, Interface};
use qrlink_core::store::Store;
use qrlink_core::transfer::fallback::{self, StaticFormat};
use qrlink_core::transfer::{self, ExportFormat, ImportContext};

use crate::cli::{ExportFormatArg, StaticFormatArg};
use crate::instance::Instance;
use crate::link_cmd::os_user;

pub async fn export(
    store: &Store,
    format: ExportFormatArg,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let format = match format {
        ExportFormatArg::Json => ExportFormat::Json,
        ExportFormatArg::Csv => ExportFormat::Csv,
    };
    let Some(path) = output else {
        let mut out = BufWriter::new(std::io::stdout());
        transfer::export(store, format, &mut out).await?;
        return Ok(());
    };
    // Written beside the target and renamed, so the file is complete or absent.
    let partial = partial_path(path)?;
    let written = async {
        let file = std::fs::File::create(&partial)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        let mut out = BufWriter::new(file);
        let links = transfer::export(store, format, &mut out).await?;
        out.into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()
            .with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        anyhow::Ok(links)
    }
    .await;
    match written {
        Ok(links) => {
            eprintln!("exported {links} links to {}", path.display());
            Ok(())
        }
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

fn partial_path(path: &Path) -> anyhow::Result<std::path::PathBuf> {
    let name = path
        .file_name()
        .with_context(|| format!("`{}` is not a file name", path.display()))?;
    Ok(path.with_file_name(format!(".{}.partial", name.to_string_lossy())))
}

pub async fn import(
    store: &Store,
    instance: &Instance,
    file: &Path,
    clock: &Clock,
) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
    } else {
        bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    }
    let actor = Actor::new(os_user(), Interface::Cli);
    let context = ImportContext {
        policy: &instance.policy,
        actor: &actor,
        now: clock.now(),
    };
    match transfer::import(store, &bytes, &context).await {
        Ok(imported) => {
            println!(
                "imported {} links from {} ({})",
                imported.rows.len(),
                file.display(),
                imported.source.name()
            );
            Ok(())
        }
        Err(qrlink_core::Error::Rejected(rejections)) => {
            let mut err = std::io::stderr().lock();
            for rejection in &rejections {
                let _ = writeln!(err, "{}: {rejection}", file.display());
            }
            anyhow::bail!(
                "{} record(s) rejected; nothing was imported",
                rejections.len()
            )
        }
        Err(error) => Err(error.into()),
    }
}

pub async fn export_static(
    store: &Store,
    format: StaticFormatArg,
    out: &Path,
    clock: &Clock,
) -> anyhow::Result<()> {
    let format = match format {
        StaticFormatArg::Nginx => StaticFormat::Nginx,
        StaticFormatArg::Caddy => StaticFormat::Caddy,
        StaticFormatArg::Netlify => StaticFormat::Netlify,
        StaticFormatArg::Html => StaticFormat::Html,
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut files = 0;
    let slugs = fallback::export_static(store, format, clock.now(), &mut |relative, contents| {
        // Each file is written beside its place and renamed, so a server reloading meanwhile
        // reads the old file or the new one.
        let path = out.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let partial = partial_path(&path).map_err(std::io::Error::other)?;
        std::fs::write(&partial, contents)?;
        std::fs::rename(&partial, &path)?;
        files += 1;
        Ok(())
    })
    .await?;
    eprintln!(
        "wrote {slugs} slugs in {files} file(s) to {}",
        out.display()
    );
    Ok(())
}
