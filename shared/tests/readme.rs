//! The README's configuration example is a real, valid configuration that round-trips.

use scheduler_core::{parse_config, Instant};

#[test]
fn the_readme_example_configuration_is_valid_and_round_trips() {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("## The configuration format")
        .nth(1)
        .expect("README has the configuration section");
    let json = section
        .split("```json")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("the section opens with a json example");
    let now = Instant::from_utc(2026, 11, 25, 12, 0).unwrap();
    let config = parse_config(json, now).unwrap_or_else(|e| panic!("README example: {e}"));
    assert_eq!(config.scheduled_tasks().len(), 3);
    let exported = config.to_json();
    assert_eq!(parse_config(&exported, now).unwrap().to_json(), exported);
}
