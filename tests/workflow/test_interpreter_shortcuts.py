"""The rehearsal's shortcuts in moto's interpreter change no result: the parse trees' texts, kept
once per definition (rehearsal/runner/interpreter.py), are the texts ANTLR builds."""

from __future__ import annotations

import json
from typing import Any

from antlr4.RuleContext import RuleContext
from antlr4.tree.Tree import TerminalNode

from rehearsal.runner import interpreter
from rehearsal.runner.interpreter import interpreter_shortcuts
from rehearsal.template import synthesize
from tests.infra.conftest import resolve


def _leaves_text(node: Any) -> str:
    """A node's text as ANTLR defines it: its leaves' texts, in order."""
    if isinstance(node, TerminalNode):
        return str(node.getText())
    return "".join(_leaves_text(child) for child in node.getChildren())


def _rules(node: Any) -> list[Any]:
    if not isinstance(node, RuleContext):
        return []
    return [node, *(found for child in node.getChildren() for found in _rules(child))]


def test_the_texts_kept_for_the_synthesized_definition_are_antlr_s() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    # Given the synthesized workflow's definition
    machine = synthesize({}).state_machine
    definition = json.dumps(json.loads(resolve(machine["Properties"]["DefinitionString"])))
    with interpreter_shortcuts():
        # When moto parses it twice (the second time from the kept trees)
        AmazonStateLanguageParser.parse(definition)
        program, tree = AmazonStateLanguageParser.parse(definition)
        # Then every node's text, of the definition's tree and of its intrinsic functions' trees
        # (States.Format, ...), is its leaves' text
        trees = list(interpreter._PARSE_TREES.values())
        nodes = [node for kept in trees for node in _rules(kept)]
        assert tree in trees and len(trees) > 1 and len(nodes) > 1000
        assert all(node.getText() == _leaves_text(node) for node in nodes)
        # And the program is built afresh from the kept tree
        assert program is not AmazonStateLanguageParser.parse(definition)[0]


def test_a_definition_moto_accepted_is_not_checked_again_and_a_refused_one_always_is() -> None:
    from unittest import mock

    import pytest
    from moto.stepfunctions.parser.api import InvalidDefinition
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    # Given the synthesized definition, and one moto refuses (no StartAt)
    machine = synthesize({}).state_machine
    definition = json.dumps(json.loads(resolve(machine["Properties"]["DefinitionString"])))
    refused = definition.replace('"StartAt"', '"BeginAt"', 1)
    with interpreter_shortcuts():
        # When CreateStateMachine checks the definition a second time (as moto calls it)
        validate = StepFunctionsParserBackend._validate_definition
        validate(definition=definition)
        with mock.patch.object(
            AmazonStateLanguageParser, "parse", side_effect=AssertionError("checked again")
        ):
            # Then it is not parsed again
            validate(definition=definition)
        # And the refused one is refused each time
        for _ in range(2):
            with pytest.raises(InvalidDefinition):
                validate(definition=refused)
