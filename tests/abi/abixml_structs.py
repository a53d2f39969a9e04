#!/usr/bin/env python3
"""The structs of mx's public headers as two libabigail corpora (abidw output) record them.

  abixml_structs.py compare OLD.abixml NEW.abixml HEADERS_DIR SUPPRESSIONS_OUT
      The rule for structs that cross the border: they only grow at the end. For every public
      struct of OLD, NEW must hold the same members (name, offset, type) in the same order,
      possibly followed by more (so a renamed member counts as a change too, though abidiff alone
      lets a rename pass); every enumerator of a public enum keeps its value. Exits 1 and
      names the member if not. Writes a libabigail suppression for each struct that grew that way
      (and each enum that only gained enumerators), so that check_abi.sh can ask abidiff whether
      anything else changed. abidiff cannot make this distinction itself: it reports an appended
      member and an inserted one alike (status 4), and its `has_data_member_inserted_at = end`
      suppression also hides retyped and reordered members of a struct that gained none.

  abixml_structs.py missing CORPUS.abixml HEADERS_DIR
      Exits 1 naming each struct that a header of HEADERS_DIR defines and CORPUS does not record
      (abi/border.abixml must record them all: a new struct needs its line in border_probe.c).

  abixml_structs.py layout CORPUS.abixml HEADERS_DIR
      Prints tests/abi/border_layout.c's MEMBER / SIZE lines for every public struct of CORPUS
      (offsets and sizes in bytes), to paste after a deliberate change.

Public: defined in a file of HEADERS_DIR (mx/*.h) or in dlpack/dlpack.h. Types are compared by
their spelled-out structure (typedef names, pointers, function signatures), structs referred to by
name: each struct is judged on its own.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

RECORDS = ("class-decl", "union-decl")


class Corpus:
    def __init__(self, path, headers_dir):
        root = ET.parse(path).getroot()
        self.by_id = {e.get("id"): e for e in root.iter() if e.get("id")}
        public = {"mx/" + f for f in os.listdir(headers_dir)} | {"dlpack/dlpack.h"}
        self.structs, self.enums = {}, {}
        for e in root.iter():
            path_ = e.get("filepath", "")
            if not any(path_.endswith("/" + p) or path_ == p for p in public) or not e.get("name"):
                continue
            if e.tag in RECORDS and e.get("is-declaration-only") != "yes":
                self.structs.setdefault(e.get("name"), e)
            elif e.tag == "enum-decl":
                self.enums.setdefault(e.get("name"), e)

    def type_name(self, type_id):
        """The type spelled out, e.g. 'fn(typedef int32_t=int, struct DLTensor const*)->int*'."""
        e = self.by_id[type_id]
        tag = e.tag
        if tag == "type-decl":
            return e.get("name")
        if tag == "typedef-decl":
            return "typedef %s=%s" % (e.get("name"), self.type_name(e.get("type-id")))
        if tag in ("pointer-type-def", "reference-type-def"):
            return self.type_name(e.get("type-id")) + ("*" if tag == "pointer-type-def" else "&")
        if tag == "qualified-type-def":
            quals = "".join(" " + q for q in ("const", "volatile", "restrict") if e.get(q) == "yes")
            return self.type_name(e.get("type-id")) + quals
        if tag == "array-type-def":
            dims = "".join("[%s]" % s.get("length") for s in e.findall("subrange"))
            return self.type_name(e.get("type-id")) + dims
        if tag == "function-type":
            params = [p.get("type-id") for p in e.findall("parameter")]
            args = ", ".join("..." if p is None else self.type_name(p) for p in params)
            return "fn(%s)->%s" % (args, self.type_name(e.find("return").get("type-id")))
        if tag in RECORDS:
            return "%s %s" % ("union" if tag == "union-decl" else "struct", e.get("name"))
        if tag == "enum-decl":
            return "enum " + e.get("name")
        return tag

    def type_bytes(self, type_id):
        e = self.by_id[type_id]
        if e.get("size-in-bits"):
            return int(e.get("size-in-bits")) // 8
        if e.tag == "enum-decl":
            return self.type_bytes(e.find("underlying-type").get("type-id"))
        return self.type_bytes(e.get("type-id"))  # typedef, qualified type

    def members(self, name):
        """[(member name, offset in bits, type spelled out, type id)] in declaration order."""
        return [(m[0].get("name"), int(m.get("layout-offset-in-bits")), self.type_name(m[0].get("type-id")),
                 m[0].get("type-id"))
                for m in self.structs[name].findall("data-member") if m.get("static") != "yes"]

    def enumerators(self, name):
        return {e.get("name"): e.get("value") for e in self.enums[name].findall("enumerator")}


def compare(old, new):
    """Returns (problems, grown): what breaks the only-grow-at-the-end rule, and what grew by it."""
    problems, grown = [], []
    for name in sorted(old.structs):
        if name not in new.structs:
            problems.append("struct %s is gone" % name)
            continue
        before, after = old.members(name), new.members(name)
        for i, (m, offset, type_, _) in enumerate(before):
            if i >= len(after):
                problems.append("%s.%s was removed" % (name, m))
                break
            if after[i][:3] != (m, offset, type_):
                problems.append("%s.%s (offset %d, %s) became %s (offset %d, %s): members may only be "
                                "appended at the end" % (name, m, offset // 8, type_, after[i][0], after[i][1] // 8,
                                                         after[i][2]))
                break
        else:
            old_size, new_size = int(old.structs[name].get("size-in-bits")), int(new.structs[name].get("size-in-bits"))
            if new_size < old_size:
                problems.append("struct %s shrank from %d to %d bytes" % (name, old_size // 8, new_size // 8))
            elif len(after) > len(before) or new_size != old_size:
                grown.append(("struct", name, [m for m, *_ in after[len(before):]]))
    for name in sorted(old.enums):
        if name not in new.enums:
            problems.append("enum %s is gone" % name)
            continue
        before, after = old.enumerators(name), new.enumerators(name)
        changed = [k for k in before if after.get(k) != before[k]]
        if changed:
            problems.append("enum %s: %s removed or renumbered" % (name, ", ".join(changed)))
        elif len(after) > len(before):
            grown.append(("enum", name, sorted(set(after) - set(before))))
    return problems, grown


def missing(corpus, headers_dir):
    """Structs defined in the headers ('struct name {' or 'typedef struct name {') but not in corpus."""
    found = []
    for header in sorted(os.listdir(headers_dir)):
        with open(os.path.join(headers_dir, header)) as f:
            names = re.findall(r"^(?:typedef\s+)?struct\s+(\w+)\s*\{", f.read(), re.M)
        found += ["struct %s (mx/%s)" % (n, header) for n in names if n not in corpus.structs]
    return found


def layout(corpus):
    for name in sorted(corpus.structs):
        print("SIZE(%s, %d);" % (name, int(corpus.structs[name].get("size-in-bits")) // 8))
        for m, offset, _, type_id in corpus.members(name):
            print("MEMBER(%s, %s, %d, %d);" % (name, m, offset // 8, corpus.type_bytes(type_id)))


def main(argv):
    if len(argv) == 5 and argv[0] == "compare":
        old, new = Corpus(argv[1], argv[3]), Corpus(argv[2], argv[3])
        problems, grown = compare(old, new)
        for p in problems:
            print("incompatible: " + p)
        with open(argv[4], "w") as out:
            for kind, name, added in grown:
                print("compatible: %s %s grew at the end (%s)" % (kind, name, ", ".join(added) or "its last member grew"))
                out.write("[suppress_type]\n  type_kind = %s\n  name = %s\n" % (kind, name))
        return 1 if problems else 0
    if len(argv) == 3 and argv[0] == "missing":
        absent = missing(Corpus(argv[1], argv[2]), argv[2])
        for m in absent:
            print("%s is not in %s: add it to tests/abi/border_probe.c, then tools/update-abi-baseline.sh" % (m, argv[1]))
        return 1 if absent else 0
    if len(argv) == 3 and argv[0] == "layout":
        layout(Corpus(argv[1], argv[2]))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
