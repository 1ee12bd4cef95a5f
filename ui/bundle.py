"""Joins the race player's ES modules (``ui/player/*.js``) into one script.

The player is written as ES modules, one per concern, that node can import one by one in tests. Streamlit's
components v2 take the player as one inline module (``js=``), and the offline HTML download inlines it as
a classic script, so both get the same joined text: the modules in dependency order (each after the
modules it imports), without their ``import`` lines and with ``export`` dropped from their declarations.

That is all a bundler has to do here, because the modules follow three rules this file checks, failing
loudly (at import of ``ui.animation``, so in every test run) rather than producing a broken player:

- imports are ``import { a, b } from "./name.js";`` of sibling modules, without renaming (``as``);
- every imported name is declared and exported by the module it comes from;
- no two modules declare the same top-level name (they share one scope once joined).

Running ``python -m ui.bundle`` prints the joined script (for reading, or a browser's console).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PLAYER_DIR = Path(__file__).resolve().parent / "player"
ENTRY = "player.js"

_IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"\./([\w.-]+\.js)";\s*$', re.MULTILINE)
_ANY_IMPORT = re.compile(r"^\s*import\b", re.MULTILINE)
_DECL = re.compile(r"^(export\s+)?(?:async\s+)?(?:function\*?|class|const|let|var)\s+([A-Za-z_$][\w$]*)",
                   re.MULTILINE)
_EXPORT_OTHER = re.compile(r"^\s*export\s+(?!(?:async\s+)?(?:function|class|const|let|var)\b)", re.MULTILINE)


class BundleError(ValueError):
    """The modules break one of the rules in this module's docstring."""


def _parse(name: str, text: str) -> tuple[dict[str, list[str]], dict[str, bool]]:
    """(imports: module -> names, declarations: name -> exported) of one module."""
    imports: dict[str, list[str]] = {}
    for match in _IMPORT.finditer(text):
        names = [n.strip() for n in match.group(1).split(",") if n.strip()]
        if any(not re.fullmatch(r"[A-Za-z_$][\w$]*", n) for n in names):
            raise BundleError(f"{name}: only plain names may be imported (no 'as'): {match.group(0)}")
        imports.setdefault(match.group(2), []).extend(names)
    if len(_ANY_IMPORT.findall(text)) != len(_IMPORT.findall(text)):
        raise BundleError(f"{name}: an import that is not `import {{ ... }} from \"./x.js\";`")
    if _EXPORT_OTHER.search(text):
        raise BundleError(f"{name}: only `export` in front of a declaration is supported")
    declarations = {m.group(2): bool(m.group(1)) for m in _DECL.finditer(text)}
    return imports, declarations


def modules(folder: Path = PLAYER_DIR, entry: str = ENTRY) -> list[tuple[str, str]]:
    """(file name, text) of the entry module and everything it imports, dependencies first."""
    texts: dict[str, str] = {}
    order: list[str] = []
    visiting: set[str] = set()
    owner: dict[str, str] = {}

    def visit(name: str) -> None:
        if name in texts:
            return
        if name in visiting:
            raise BundleError(f"import cycle through {name}")
        path = folder / name
        if not path.is_file():
            raise BundleError(f"{name} is imported but {path} does not exist")
        visiting.add(name)
        text = path.read_text(encoding="utf-8")
        imports, declarations = _parse(name, text)
        for dep, names in imports.items():
            visit(dep)
            _, dep_decls = _parse(dep, texts[dep])
            missing = [n for n in names if not dep_decls.get(n)]
            if missing:
                raise BundleError(f"{name} imports {', '.join(missing)} from {dep}, which does not export it")
        for decl in declarations:
            if decl in owner:
                raise BundleError(f"{decl} is declared in both {owner[decl]} and {name}")
            owner[decl] = name
        visiting.discard(name)
        texts[name] = text
        order.append(name)

    visit(entry)
    return [(name, texts[name]) for name in order]


def bundle(folder: Path = PLAYER_DIR, entry: str = ENTRY) -> str:
    """The joined script: no import or export statements; the entry's declarations are globals of it."""
    parts = []
    for name, text in modules(folder, entry):
        body = _IMPORT.sub("", text)
        body = re.sub(r"^export\s+", "", body, flags=re.MULTILINE)
        parts.append(f"// ---- ui/player/{name} " + "-" * max(0, 80 - len(name)) + "\n" + body.strip() + "\n")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(bundle())
