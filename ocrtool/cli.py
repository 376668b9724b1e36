"""The `ocrtool` command: a Click group assembled from ocrtool/commands/*.

Exit codes: 0 success, 1 some inputs failed, 2 usage errors (Click's own convention),
3 an I/O error (e.g. a full disk) or an internal error, with one line on stderr, 130 when
interrupted (Ctrl-C). OCRTOOL_DEBUG=1 shows the traceback of a code-3 error.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from . import __version__

EXIT_OK, EXIT_FAILED_FILES, EXIT_USAGE, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# (module, attribute) of every sub-command; imported lazily so `ocrtool read` with the
# ONNX backend never imports torch through an unrelated command.
COMMANDS = {
    "read": ("ocrtool.commands.read", "read"),
    "info": ("ocrtool.commands.info", "info"),
    "synth": ("ocrtool.commands.synth", "synth"),
    "eval": ("ocrtool.commands.evaluate", "evaluate"),
    "export-onnx": ("ocrtool.commands.export", "export_onnx"),
    "train": ("ocrtool.commands.train", "train"),
    "serve": ("ocrtool.commands.serve", "serve"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context):
        """Run the sub-command; what escapes it becomes one line and an exit code."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("ocrtool: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:  # `ocrtool read ... | head`: the reader left, stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_ERROR)
        except Exception as e:
            if os.environ.get("OCRTOOL_DEBUG"):
                raise
            click.echo(f"ocrtool: {error_line(e)}", err=True)
            sys.exit(EXIT_ERROR)


def error_line(e: BaseException) -> str:
    """One line for an I/O or internal error: what failed, never a traceback."""
    from .io_utils import display_name

    text = display_name(" ".join(str(e).split()))  # a file name in it may not be UTF-8
    if isinstance(e, OSError):
        return f"I/O error: {text or type(e).__name__}"
    return (f"internal error: {type(e).__name__}: {text} (run with OCRTOOL_DEBUG=1 for "
            "the traceback, and please report it)")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ocrtool")
def main() -> None:
    """Offline OCR: read text from images and PDFs with a CRAFT-like detector and a CRNN
    recognizer."""


if __name__ == "__main__":
    main()
