//! Embeds `assets/` in the crate: each file raw and gzipped (level 9), the index page with the
//! asset version (a hash of every asset) substituted, and the list of modules to preload. No
//! Node step: the assets are served as written.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets the manifest dir"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let assets = root.join("assets");
    println!("cargo:rerun-if-changed=assets");
    let mut files = Vec::new();
    collect(&assets, &assets, &mut files);
    files.sort();

    // FNV-1a over every path and content: a stable version that changes with any asset.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for relative in &files {
        for byte in relative
            .bytes()
            .chain(std::fs::read(assets.join(relative)).expect("readable asset"))
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    let version = format!("{hash:016x}");
    let version = &version[..12];

    let mut table = String::from(
        "/// Every embedded asset, by path under `assets/`.\npub static ASSETS: &[Asset] = &[\n",
    );
    let mut preloads = String::new();
    for relative in &files {
        if relative == "index.html" {
            continue;
        }
        let source = assets.join(relative);
        let raw = std::fs::read(&source).expect("readable asset");
        let gzip_path = out.join(format!("{}.gz", relative.replace('/', "__")));
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&raw).expect("gzip in memory");
        std::fs::write(&gzip_path, encoder.finish().expect("gzip in memory"))
            .expect("writable OUT_DIR");
        let _ = writeln!(
            table,
            "    Asset {{ path: {relative:?}, content_type: {:?}, raw: include_bytes!({:?}), gzip: include_bytes!({:?}) }},",
            content_type(relative),
            source.display().to_string(),
            gzip_path.display().to_string(),
        );
        if relative.ends_with(".js") && relative != "main.js" {
            let _ = writeln!(
                preloads,
                r#"<link rel="modulepreload" href="/assets/{version}/{relative}">"#
            );
        }
    }
    table.push_str("];\n");

    let index = std::fs::read_to_string(assets.join("index.html")).expect("assets/index.html");
    let index = index
        .replace("{{VERSION}}", version)
        .replace("{{PRELOADS}}", preloads.trim_end());
    let index_path = out.join("index.html");
    std::fs::write(&index_path, &index).expect("writable OUT_DIR");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(index.as_bytes()).expect("gzip in memory");
    let index_gzip = out.join("index.html.gz");
    std::fs::write(&index_gzip, encoder.finish().expect("gzip in memory"))
        .expect("writable OUT_DIR");

    let mut generated = table;
    let _ = writeln!(
        generated,
        "/// The version in asset URLs: changes whenever an asset does.\npub const VERSION: &str = {version:?};"
    );
    let _ = writeln!(
        generated,
        "/// The app's page.\npub static INDEX: Asset = Asset {{ path: \"index.html\", content_type: \"text/html; charset=utf-8\", raw: include_bytes!({:?}), gzip: include_bytes!({:?}) }};",
        index_path.display().to_string(),
        index_gzip.display().to_string(),
    );
    std::fs::write(out.join("assets.rs"), generated).expect("writable OUT_DIR");
}

fn collect(base: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("readable assets directory") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            collect(base, &path, files);
        } else if let Ok(relative) = path.strip_prefix(base) {
            files.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json" | "webmanifest") => "application/manifest+json",
        Some("html") => "text/html; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}
