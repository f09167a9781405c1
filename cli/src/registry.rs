//! The registry: every provider the tools know, in display order. Everything else about a
//! provider (its binary, secret, settings, event codes, samples, signer, audit rule) comes from
//! its crate's [`Catalog`]; `make dev`, the end-to-end suite and the benchmarks read this list
//! through `webhooks providers --json`.
//!
//! Adding a provider: its crate under `functions/`, a dependency on it in `cli/Cargo.toml`, and
//! one line below.

use std::fmt;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser as _};
use webhook_core::Catalog;

/// Every provider, in display order.
pub static PROVIDERS: &[&dyn Catalog] = &[
    &alocity_selfie::CATALOG,
    &alocity::CATALOG,
    &faceio::CATALOG,
    &amani::CATALOG,
];

/// A provider named on the command line.
#[derive(Clone, Copy)]
pub struct ProviderArg(pub &'static dyn Catalog);

impl ProviderArg {
    /// The provider's name, as in keys, index partitions and secret names.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// Its catalogue.
    pub fn catalog(self) -> &'static dyn Catalog {
        self.0
    }
}

impl fmt::Debug for ProviderArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for ProviderArg {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for ProviderArg {}

/// The provider called `name`.
pub fn find(name: &str) -> Option<ProviderArg> {
    PROVIDERS
        .iter()
        .find(|catalog| catalog.name() == name)
        .map(|catalog| ProviderArg(*catalog))
}

/// Every provider.
pub fn all() -> impl Iterator<Item = ProviderArg> {
    PROVIDERS.iter().map(|catalog| ProviderArg(*catalog))
}

/// The providers whose deliveries keep a signature the tamper audit can re-check.
pub fn audited() -> Vec<ProviderArg> {
    all().filter(|p| p.catalog().audit().is_some()).collect()
}

/// Names joined for a message: `a, b or c`.
pub fn names(providers: &[ProviderArg]) -> String {
    match providers.split_last() {
        None => String::new(),
        Some((last, [])) => last.name().to_owned(),
        Some((last, rest)) => format!(
            "{} or {}",
            rest.iter().map(|p| p.name()).collect::<Vec<_>>().join(", "),
            last.name()
        ),
    }
}

/// The clap value parser for a provider argument: the registry's names, with their summaries
/// in `--help`.
pub fn parser() -> impl clap::builder::TypedValueParser<Value = ProviderArg> {
    PossibleValuesParser::new(
        PROVIDERS
            .iter()
            .map(|catalog| PossibleValue::new(catalog.name()).help(catalog.about())),
    )
    .try_map(|name| find(&name).ok_or("not a provider"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_binaries_are_unique_and_follow_the_convention() {
        let mut names: Vec<_> = all().map(ProviderArg::name).collect();
        let mut binaries: Vec<_> = PROVIDERS.iter().map(|c| c.binary()).collect();
        assert_eq!(names.len(), 4);
        names.sort_unstable();
        names.dedup();
        binaries.sort_unstable();
        binaries.dedup();
        assert_eq!((names.len(), binaries.len()), (4, 4));
        for catalog in PROVIDERS {
            assert_eq!(catalog.binary(), format!("{}-webhook", catalog.name()));
            assert_eq!(catalog.secret_id(), format!("webhooks/{}", catalog.name()));
            assert_eq!(
                find(catalog.name()).map(ProviderArg::name),
                Some(catalog.name())
            );
        }
        assert!(find("stripe").is_none());
    }

    #[test]
    fn lists_read_naturally() {
        let all: Vec<_> = all().collect();
        assert_eq!(names(&all[..1]), all[0].name());
        assert_eq!(
            names(&all[..3]),
            format!("{}, {} or {}", all[0].name(), all[1].name(), all[2].name())
        );
        assert!(audited().len() < all.len());
    }
}
