"""Results layer: event schema, declared outcomes, atomic files and manifests."""
