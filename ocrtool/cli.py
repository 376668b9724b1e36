"""The `ocrtool` command: a Click group assembled from ocrtool/commands/*.

Exit codes: 0 success, 1 some inputs failed, 2 usage errors (Click's own convention).
"""

from __future__ import annotations

import importlib

import click

from . import __version__

# (module, attribute) of every sub-command; imported lazily so `ocrtool read` with the
# ONNX backend never imports torch through an unrelated command.
COMMANDS = {
    "read": ("ocrtool.commands.read", "read"),
    "info": ("ocrtool.commands.info", "info"),
    "synth": ("ocrtool.commands.synth", "synth"),
    "eval": ("ocrtool.commands.evaluate", "evaluate"),
    "export-onnx": ("ocrtool.commands.export", "export_onnx"),
    "train": ("ocrtool.commands.train", "train"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ocrtool")
def main() -> None:
    """Offline OCR: read text from images with a CRAFT-like detector and a CRNN recognizer."""


if __name__ == "__main__":
    main()
