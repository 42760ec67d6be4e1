//! Harbor's artifact additions (`…/artifacts/{reference}/additions/{addition}`): what an
//! artifact's content says about it, read on demand.
//!
//! | artifact | addition | body |
//! |---|---|---|
//! | image, wasm (image or wasm config) | `build_history` | the config's `history`, JSON (`[]` when it has none) |
//! | Helm chart (`application/vnd.cncf.helm.config.v1+json`) | `readme.md` | the chart's README.md, `text/markdown` |
//! | | `values.yaml` | the chart's values.yaml, `text/plain` |
//! | | `dependencies` | `[{name, version, repository, …}]` from Chart.yaml (apiVersion v2) or requirements.yaml (v1), JSON |
//!
//! Names are matched without regard to case, as Harbor does. An addition the artifact's type does
//! not have (or any addition of an index or an unknown type) is Harbor's 400 "isn't supported";
//! a chart without the file asked for is 404.
//!
//! Every read is bounded before anything is buffered: the config blob by [`MAX_CONFIG`]; the
//! chart archive is streamed through gzip and tar on a blocking thread, only the wanted members
//! are kept ([`MAX_CHART_FILE`] for README.md and values.yaml, [`MAX_CHART_META`] for Chart.yaml
//! and requirements.yaml), and decompression stops after [`MAX_UNPACKED`] bytes, so a gzip bomb
//! ends in a clean 413.
//!
//! Reading needs `artifact-addition` read on the artifact's project (every role, and anyone on a
//! public project); a project the caller cannot see is 404.

use std::io::Read;

use bytes::Bytes;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use yaml_rust2::{Event, Yaml};

use crate::auth::{Action, Principal, ProjectResource as R};
use crate::error::{Error, Result};
use crate::image::ImageRef;
use crate::oci::Digest;
use crate::oci::manifest::Descriptor;
use crate::registry::Registry;

/// Largest image config read for `build_history`.
pub const MAX_CONFIG: u64 = 4 << 20;
/// Largest README.md or values.yaml served from a chart.
pub const MAX_CHART_FILE: u64 = 1 << 20;
/// Largest Chart.yaml or requirements.yaml read from a chart.
pub const MAX_CHART_META: u64 = 64 << 10;
/// Most bytes decompressed from a chart archive.
pub const MAX_UNPACKED: u64 = 64 << 20;

/// Config media type of a Helm chart.
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// Media type of a Helm chart's archive layer.
pub const HELM_CHART_CONTENT: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// Config media types whose `history` is an image's build history.
const IMAGE_CONFIGS: &[&str] = &[
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.wasm.config.v1+json",
];

/// The additions an artifact has, by its artifact type (for an image manifest without one, its
/// config media type), in the order Harbor lists them.
pub fn addition_names(artifact_type: Option<&str>) -> &'static [&'static str] {
    match artifact_type {
        Some(t) if IMAGE_CONFIGS.contains(&t) => &["build_history"],
        Some(HELM_CONFIG) => &["values.yaml", "readme.md", "dependencies"],
        _ => &[],
    }
}

/// Harbor's `addition_links` of the artifact `digest` in `repository` (`<project>/<name>`):
/// API paths, the repository's slashes encoded twice as Harbor's clients expect.
pub fn addition_links(
    repository: &str,
    digest: &str,
    artifact_type: Option<&str>,
) -> std::collections::BTreeMap<String, crate::model::AdditionLink> {
    let (project, name) = repository.split_once('/').unwrap_or(("", repository));
    let name = name.replace('/', "%252F");
    addition_names(artifact_type)
        .iter()
        .map(|a| {
            let link = crate::model::AdditionLink {
                href: format!(
                    "/api/v2.0/projects/{project}/repositories/{name}/artifacts/{digest}/additions/{a}"
                ),
                absolute: false,
            };
            ((*a).to_owned(), link)
        })
        .collect()
}

/// An addition's body and the content type it is served with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addition {
    pub content_type: &'static str,
    pub content: Bytes,
}

/// One entry of an image's build history, with Harbor's (the OCI image spec's) field names;
/// empty fields are left out, as Harbor leaves them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct HistoryEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

/// A chart's dependency, as Helm's `Dependency` serialises it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ChartDependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// The additions there are, by what they read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    BuildHistory,
    Readme,
    Values,
    Dependencies,
}

impl Wanted {
    fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "build_history" => Self::BuildHistory,
            "readme.md" => Self::Readme,
            "values.yaml" => Self::Values,
            "dependencies" => Self::Dependencies,
            _ => return None,
        })
    }
}

/// The parts of a stored manifest an addition reads.
#[derive(Deserialize)]
struct Shape {
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

fn unsupported(name: &str, kind: Option<&str>) -> Error {
    Error::BadRequest {
        reason: match kind {
            Some(kind) => format!("addition {name} isn't supported for {kind}"),
            None => format!("addition {name} isn't supported"),
        },
    }
}

impl Registry {
    /// Harbor's `…/additions/{addition}`: `build_history` of an image, `readme.md`,
    /// `values.yaml` or `dependencies` of a Helm chart. Needs read on the project's artifact
    /// additions.
    pub async fn addition(&self, p: &Principal, image: &ImageRef, name: &str) -> Result<Addition> {
        self.require_project(
            p,
            image.repo.project(),
            true,
            R::ArtifactAddition,
            Action::Read,
        )
        .await?;
        let m = self.get_manifest(&image.repo, &image.reference).await?;
        // An index (no config) has no additions.
        let Some(Shape {
            config: Some(config),
            layers,
        }) = serde_json::from_slice::<Shape>(&m.content).ok()
        else {
            return Err(unsupported(name, None));
        };
        let wanted = Wanted::parse(name);
        if IMAGE_CONFIGS.contains(&config.media_type.as_str()) {
            let kind = if config.media_type.contains("wasm") {
                "WASM"
            } else {
                "IMAGE"
            };
            return match wanted {
                Some(Wanted::BuildHistory) => self.build_history(&config).await,
                _ => Err(unsupported(name, Some(kind))),
            };
        }
        if config.media_type == HELM_CONFIG {
            return match wanted {
                Some(w @ (Wanted::Readme | Wanted::Values | Wanted::Dependencies)) => {
                    self.chart_addition(&layers, w).await
                }
                _ => Err(unsupported(name, Some("CHART"))),
            };
        }
        Err(unsupported(name, None))
    }

    /// An image config's `history`, as JSON.
    async fn build_history(&self, config: &Descriptor) -> Result<Addition> {
        #[derive(Deserialize)]
        struct Config {
            #[serde(default)]
            history: Option<Vec<HistoryEntry>>,
        }
        let digest = Digest::parse(&config.digest)?;
        if config.size < 0 || config.size as u64 > MAX_CONFIG {
            return Err(Error::PayloadTooLarge {
                what: format!("image config {digest}"),
                limit: MAX_CONFIG,
            });
        }
        let stream = self.blobs.get(&digest, None).await?;
        let bytes = crate::blob::collect(stream, MAX_CONFIG as usize).await?;
        let parsed: Config = serde_json::from_slice(&bytes)
            .map_err(|e| Error::internal(format!("image config {digest}: {e}")))?;
        let history = parsed.history.unwrap_or_default();
        Ok(Addition {
            content_type: "application/json; charset=utf-8",
            content: serde_json::to_vec(&history)
                .map_err(|e| Error::internal(format!("build history: {e}")))?
                .into(),
        })
    }

    /// A file (or the dependencies) of the Helm chart whose archive is among `layers`.
    async fn chart_addition(&self, layers: &[Descriptor], wanted: Wanted) -> Result<Addition> {
        let layer = layers
            .iter()
            .find(|l| l.media_type == HELM_CHART_CONTENT)
            .ok_or_else(|| Error::NotFound {
                what: "the chart's archive layer".into(),
            })?;
        let digest = Digest::parse(&layer.digest)?;
        let stream = self
            .blobs
            .get(&digest, None)
            .await?
            .map_err(|e| std::io::Error::other(e.to_string()));
        let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
        let files = tokio::task::spawn_blocking(move || read_chart(reader, wanted))
            .await
            .map_err(|e| Error::internal(format!("chart reader: {e}")))??;
        let missing = |file: &str| Error::NotFound {
            what: format!("{file} in the chart"),
        };
        Ok(match wanted {
            Wanted::Readme => Addition {
                content_type: "text/markdown; charset=utf-8",
                content: files.wanted.ok_or_else(|| missing("README.md"))?.into(),
            },
            Wanted::Values => Addition {
                content_type: "text/plain; charset=utf-8",
                content: files.wanted.ok_or_else(|| missing("values.yaml"))?.into(),
            },
            _ => {
                let chart = files.chart_yaml.ok_or_else(|| missing("Chart.yaml"))?;
                let deps = chart_dependencies(&chart, files.requirements.as_deref())?;
                Addition {
                    content_type: "application/json; charset=utf-8",
                    content: serde_json::to_vec(&deps)
                        .map_err(|e| Error::internal(format!("chart dependencies: {e}")))?
                        .into(),
                }
            }
        })
    }
}

/// What was kept of a chart archive.
#[derive(Debug, Default)]
struct ChartFiles {
    chart_yaml: Option<Vec<u8>>,
    requirements: Option<Vec<u8>>,
    /// README.md or values.yaml, when one of them was asked for.
    wanted: Option<Vec<u8>>,
}

/// A reader that fails once more than `left` bytes went through it.
struct Bounded<R> {
    inner: R,
    left: u64,
    exceeded: bool,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more tells a member that ends exactly at the limit from one that goes on.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.exceeded = true;
            return Err(std::io::Error::other("decompression limit reached"));
        }
        let cap = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..cap])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Which slot a top-level chart file goes to, and how big it may be.
fn slot(file: &str, wanted: Wanted) -> Option<(u8, u64)> {
    match wanted {
        Wanted::Readme if file.eq_ignore_ascii_case("readme.md") => Some((2, MAX_CHART_FILE)),
        Wanted::Values if file == "values.yaml" => Some((2, MAX_CHART_FILE)),
        Wanted::Dependencies if file == "Chart.yaml" => Some((0, MAX_CHART_META)),
        Wanted::Dependencies if file == "requirements.yaml" => Some((1, MAX_CHART_META)),
        _ => None,
    }
}

/// Stream a chart archive (`<chart>/<file>` entries) and keep the files `wanted` reads.
fn read_chart(reader: impl Read, wanted: Wanted) -> Result<ChartFiles> {
    let gz = flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(64 << 10, reader));
    let mut archive = tar::Archive::new(Bounded {
        inner: gz,
        left: MAX_UNPACKED,
        exceeded: false,
    });
    let mut out = ChartFiles::default();
    let walked = (|| -> Result<()> {
        let io = |e: std::io::Error| Error::Unsupported {
            reason: format!("the chart archive is not a readable .tgz: {e}"),
        };
        for entry in archive.entries().map_err(io)? {
            let mut entry = entry.map_err(io)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let path = path.trim_start_matches("./");
            // Only the chart's own files: `<chart>/<file>`, not its subcharts'.
            let Some((_, file)) = path.split_once('/').filter(|(_, f)| !f.contains('/')) else {
                continue;
            };
            let Some((slot, limit)) = slot(file, wanted) else {
                continue;
            };
            if entry.size() > limit {
                return Err(Error::PayloadTooLarge {
                    what: format!("the chart's {file}"),
                    limit,
                });
            }
            let mut data = Vec::with_capacity(entry.size() as usize);
            (&mut entry)
                .take(limit)
                .read_to_end(&mut data)
                .map_err(io)?;
            let target = match slot {
                0 => &mut out.chart_yaml,
                1 => &mut out.requirements,
                _ => &mut out.wanted,
            };
            *target = Some(data);
            let done = match wanted {
                Wanted::Dependencies => out.chart_yaml.is_some() && out.requirements.is_some(),
                _ => out.wanted.is_some(),
            };
            if done {
                break;
            }
        }
        Ok(())
    })();
    let exceeded = archive.into_inner().exceeded;
    match walked {
        Err(_) if exceeded => Err(Error::PayloadTooLarge {
            what: "the chart archive's unpacked content".into(),
            limit: MAX_UNPACKED,
        }),
        Err(e) => Err(e),
        Ok(()) => Ok(out),
    }
}

/// Deepest nesting of a chart's YAML file.
const MAX_YAML_DEPTH: usize = 64;

/// Parse a chart's YAML file. Aliases are refused: the loader copies what they name, so a few
/// kilobytes of nested aliases would expand without bound, and no chart metadata needs them.
/// Nesting is bounded too (a value is freed recursively).
fn load_yaml(text: &[u8], file: &str) -> Result<Yaml> {
    let bad = |reason: String| Error::Unsupported {
        reason: format!("the chart's {file} is not readable: {reason}"),
    };
    let text = std::str::from_utf8(text).map_err(|e| bad(e.to_string()))?;
    let mut parser = yaml_rust2::parser::Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        match parser.next_token().map_err(|e| bad(e.to_string()))?.0 {
            Event::StreamEnd => break,
            Event::Alias(_) => return Err(bad("YAML aliases are not accepted".into())),
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_YAML_DEPTH {
                    return Err(bad(format!("nested deeper than {MAX_YAML_DEPTH} levels")));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let docs = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| bad(e.to_string()))?;
    Ok(docs.into_iter().next().unwrap_or(Yaml::Null))
}

/// A YAML scalar as text (`version: 1.0` is a number to YAML, a version to Helm).
fn scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The dependencies of a chart: Chart.yaml's for apiVersion v2, requirements.yaml's for v1
/// (Chart.yaml's when a v1 chart has no requirements.yaml).
fn chart_dependencies(
    chart_yaml: &[u8],
    requirements: Option<&[u8]>,
) -> Result<Vec<ChartDependency>> {
    let chart = load_yaml(chart_yaml, "Chart.yaml")?;
    let v1 = scalar(&chart["apiVersion"]).is_none_or(|v| v == "v1");
    let source = match requirements {
        Some(r) if v1 => load_yaml(r, "requirements.yaml")?,
        _ => chart,
    };
    let Some(list) = source["dependencies"].as_vec() else {
        return Ok(Vec::new());
    };
    Ok(list
        .iter()
        .filter(|d| d.as_hash().is_some())
        .map(|d| {
            let text = |k: &str| scalar(&d[k]).unwrap_or_default();
            ChartDependency {
                name: text("name"),
                version: text("version"),
                repository: text("repository"),
                condition: scalar(&d["condition"]),
                tags: d["tags"]
                    .as_vec()
                    .map(|t| t.iter().filter_map(scalar).collect())
                    .unwrap_or_default(),
                alias: scalar(&d["alias"]),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_dependencies_come_from_chart_yaml() {
        let chart = b"apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: redis\n    version: 17.0.1\n    repository: https://charts.example.com\n    condition: redis.enabled\n  - name: common\n    version: 2.x.x\n    repository: oci://registry.example.com/charts\n    tags: [infra]\n    alias: base\n";
        let deps = chart_dependencies(chart, None).unwrap();
        assert_eq!(deps.len(), 2);
        assert_eq!(deps[0].name, "redis");
        assert_eq!(deps[0].condition.as_deref(), Some("redis.enabled"));
        assert_eq!(deps[1].tags, ["infra"]);
        assert_eq!(deps[1].alias.as_deref(), Some("base"));
    }

    #[test]
    fn v1_dependencies_come_from_requirements_yaml() {
        let chart = b"apiVersion: v1\nname: old\nversion: 0.1.0\n";
        let req = b"dependencies:\n- name: mysql\n  version: 1.0\n  repository: '@stable'\n";
        let deps = chart_dependencies(chart, Some(req)).unwrap();
        assert_eq!(
            deps,
            [ChartDependency {
                name: "mysql".into(),
                version: "1.0".into(),
                repository: "@stable".into(),
                ..Default::default()
            }]
        );
        assert!(chart_dependencies(chart, None).unwrap().is_empty());
    }

    #[test]
    fn yaml_aliases_are_refused() {
        let bomb = b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\ndependencies: [*b, *b]\n";
        let err = chart_dependencies(bomb, None).unwrap_err();
        assert!(err.to_string().contains("aliases"), "{err}");
        let deep = format!("dependencies: {}{}", "[".repeat(100), "]".repeat(100));
        let err = chart_dependencies(deep.as_bytes(), None).unwrap_err();
        assert!(err.to_string().contains("nested deeper"), "{err}");
    }

    #[test]
    fn the_unpacked_size_is_bounded() {
        let mut r = Bounded {
            inner: std::io::repeat(0).take(100),
            left: 10,
            exceeded: false,
        };
        let mut sink = Vec::new();
        assert!(r.read_to_end(&mut sink).is_err());
        assert!(r.exceeded);
        assert_eq!(sink.len(), 10);
        let mut exact = Bounded {
            inner: std::io::repeat(0).take(10),
            left: 10,
            exceeded: false,
        };
        assert_eq!(exact.read_to_end(&mut Vec::new()).unwrap(), 10);
    }
}
