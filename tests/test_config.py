from __future__ import annotations

import jsonschema
import pytest
import yaml

from nas_search.catalog import load_space, resolve_space, shipped_spaces
from nas_search.config import load_space_file, override_settings, space_schema
from nas_search.errors import SpaceError, UsageError
from nas_search.evaluation import evaluator_schemas
from nas_search.settings import SearchSettings
from tests.conftest import TOY


def test_toy_space_loads(write_space):
    definition = load_space_file(write_space())
    assert definition.name == "toy"
    assert [o.name for o in definition.objectives] == ["score", "cost"]
    assert definition.settings.budget == 12 and definition.settings.tactic == "random"
    assert definition.space.needs_metrics
    assert len(definition.fingerprint) == 16


def _broken(text, old, new):
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "choices: [16, 24, 32]",
            "choices: [16, -4, x]",
            "space.yaml: parameters.embed.choices[2]: must be a number, got 'x'",
        ),
        (
            "{type: integer, low: 1, high: 3}",
            "{type: integer, low: 0, high: 3}",
            "space.yaml: parameters.heads.per_layer: "
            "depth must take positive integer values, got 0",
        ),
        (
            "choices: [1, 2, 4]",
            "choices: [1, 2, 1]",
            "parameters.heads.choices: choices[2] repeats choices[0] (1)",
        ),
        (
            "{type: integer, low: 1, high: 3}",
            "{type: integer, low: 3, high: 1}",
            "parameters.depth: high must be >= low (3), got 1",
        ),
        (
            "{type: integer, low: 1, high: 3}",
            "{type: integer, low: 1, high: 3, step: 0}",
            "parameters.depth.step: must be greater than 0, got 0",
        ),
        (
            "{type: categorical,",
            "{type: choice,",
            "parameters.act: type: "
            "must be one of categorical, ordinal, integer, fixed, got 'choice'",
        ),
        (
            "{type: fixed, value: 4}",
            "{type: fixed, value: 4, per_layer: depth}",
            "parameters.patch.per_layer: unknown field (value 'depth')",
        ),
        (
            "direction: maximize",
            "direction: up",
            "objectives[0].direction: must be 'maximize' or 'minimize', got 'up'",
        ),
        (
            "{name: cost, direction: minimize}",
            "{name: score, direction: minimize}",
            "objectives: objective 'score' is listed twice",
        ),
        (
            "{name: cost, direction: minimize}",
            "{name: embed, direction: minimize}",
            "objectives[1].name: must be a metric, not a parameter, got 'embed'",
        ),
        (
            '"embed % heads[i] == 0"',
            '"embed.real > 0"',
            "constraints[0]: 'embed.real > 0': attribute access",
        ),
        (
            '"params_k <= 50"',
            '"flops <= 50"',
            "constraints[1]: 'flops <= 50': unknown name 'flops'",
        ),
        (
            "search: {tactic: random, budget: 12,",
            "search: {tactic: random, budget: 0,",
            "search.budget: must be greater than or equal to 1, got 0",
        ),
        (
            "search: {tactic: random, budget: 12,",
            "search: {tactic: random, budgett: 12,",
            "search.budgett: unknown field (value 12)",
        ),
        (
            "search: {tactic: random, budget: 12,",
            "search: {tactic: random, algorithm: nsga9, budget: 12,",
            "search.algorithm: must be 'nsga2'",
        ),
        ("  type: python\n", "", "evaluator.type: is required"),
    ],
)
def test_each_error_names_file_field_and_value(write_space, old, new, message):
    path = write_space(_broken(TOY, old, new))
    with pytest.raises(SpaceError) as info:
        load_space_file(path, "space.yaml")
    text = str(info.value)
    assert message in text, text
    assert "\n" not in text


def test_yaml_syntax_error_has_a_line(write_space):
    path = write_space("parameters: [\n  a: 1\n")
    with pytest.raises(SpaceError, match=r"space.yaml: line \d+, column \d+: invalid YAML"):
        load_space_file(path, "space.yaml")


def test_not_a_mapping_and_missing_file(tmp_path, write_space):
    with pytest.raises(SpaceError, match="must be a YAML mapping"):
        load_space_file(write_space("- 1\n- 2\n"))
    with pytest.raises(SpaceError, match="no such file"):
        load_space_file(tmp_path / "absent.yaml")


def test_safe_load_refuses_python_tags(write_space):
    path = write_space("name: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(SpaceError, match="invalid YAML"):
        load_space_file(path)


def test_overrides_name_the_flag():
    settings = override_settings(SearchSettings(), {"budget": 7, "seed": None})
    assert settings.budget == 7 and settings.seed == 0
    with pytest.raises(UsageError, match="--budget: must be greater than or equal to 1, got -5"):
        override_settings(SearchSettings(), {"budget": -5})
    with pytest.raises(UsageError, match="--max-failures: "):
        override_settings(SearchSettings(), {"max_failures": 0})


def test_every_search_field_has_a_cli_flag():
    from typer.main import get_command

    from nas_search.cli import app

    run = get_command(app).commands["run"]  # type: ignore[attr-defined]
    flags = {opt for p in run.params for opt in p.opts}
    for field in SearchSettings.model_fields:
        assert f"--{field.replace('_', '-')}" in flags, field


def test_shipped_spaces_resolve_by_bare_name_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("nb201", "nb201.yaml"):
        path, source = resolve_space(name)
        assert path.name == "nb201.yaml" and source == "nb201.yaml"
    with pytest.raises(SpaceError, match="nor a shipped space"):
        resolve_space("nope")


@pytest.mark.parametrize("path", shipped_spaces(), ids=lambda p: p.stem)
def test_shipped_spaces_validate_against_the_schema(path):
    schema = space_schema(evaluator_schemas())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    load_space(path)


def test_schema_rejects_what_the_loader_rejects():
    schema = space_schema(evaluator_schemas())
    bad = yaml.safe_load(TOY)
    bad["search"]["budgett"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_the_settings_name_what_the_registries_hold():
    """``settings`` keeps its own lists (importing the predictors or the search would make
    ``import nas_search`` heavy); they stay the registries' names."""
    from nas_search.search import list_tactics
    from nas_search.settings import PREDICTORS, TACTICS
    from predictors import NAMES

    assert set(TACTICS) == set(list_tactics())
    assert PREDICTORS == NAMES
