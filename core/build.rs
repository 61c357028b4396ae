//! Embeds the curated rules of `../spec` into the crate: every `spec/services/*.json` and
//! `spec/services.json`, in file-name order, so that a new rules file needs no code change, and
//! the generated catalog `spec/catalog.json`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let spec = manifest.join("..").join("spec");
    let services_dir = spec.join("services");
    println!("cargo:rerun-if-changed={}", services_dir.display());
    println!(
        "cargo:rerun-if-changed={}",
        spec.join("services.json").display()
    );
    let mut files: Vec<PathBuf> = fs::read_dir(&services_dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut code = String::from(
        "/// The embedded rules files, with the head of each (service, prefix, names) read here so\n/// that a file is only parsed when its service is first used.\npub(crate) static EMBEDDED_RULES: &[EmbeddedRules] = &[\n",
    );
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        // A file that does not parse is reported by the crate (its tests compile every file):
        // here it is embedded with an empty head.
        let head: serde_json::Value = fs::read_to_string(f)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let service = head["service"].as_str().unwrap_or_default();
        let prefix = head["prefix"].as_str();
        let names: Vec<&str> = head["names"]
            .as_array()
            .map(|a| a.iter().filter_map(|n| n.as_str()).collect())
            .unwrap_or_default();
        code.push_str(&format!(
            "    EmbeddedRules {{ file: {:?}, service: {:?}, prefix: {:?}, names: &{:?}, text: include_str!({:?}) }},\n",
            format!("spec/services/{name}"),
            service,
            prefix,
            names,
            abs(f)
        ));
    }
    code.push_str("];\n");
    code.push_str(&format!(
        "/// The embedded service-name table.\npub(crate) static EMBEDDED_SERVICES: &str = include_str!({:?});\n",
        abs(&spec.join("services.json"))
    ));
    let catalog = spec.join("catalog.json");
    println!("cargo:rerun-if-changed={}", catalog.display());
    code.push_str(&format!(
        "/// The generated catalog (`spec/tools/gen_catalog.py`).\npub(crate) static EMBEDDED_CATALOG: &str = include_str!({:?});\n",
        abs(&catalog)
    ));
    let formats = spec.join("iam").join("resource_formats.json");
    println!("cargo:rerun-if-changed={}", formats.display());
    code.push_str(&format!(
        "/// The ARN formats of every IAM resource type (`spec/tools/gen_iam_actions.py`).\npub(crate) static EMBEDDED_RESOURCE_FORMATS: &str = include_str!({:?});\n",
        abs(&formats)
    ));
    let cloudtrail = spec.join("cloudtrail").join("cloudtrail.json");
    println!("cargo:rerun-if-changed={}", cloudtrail.display());
    code.push_str(&format!(
        "/// How CloudTrail records are read back into calls.\npub(crate) static EMBEDDED_CLOUDTRAIL: &str = include_str!({:?});\n",
        abs(&cloudtrail)
    ));
    let wire = spec.join("wire.json");
    println!("cargo:rerun-if-changed={}", wire.display());
    code.push_str(&format!(
        "/// How each operation is put on the wire (`spec/tools/gen_wire.py`).\npub(crate) static EMBEDDED_WIRE: &str = include_str!({:?});\n",
        abs(&wire)
    ));
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("embedded_rules.rs");
    fs::write(out, code).expect("write OUT_DIR file");
}

fn abs(p: &Path) -> String {
    p.canonicalize()
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}
