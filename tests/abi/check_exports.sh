#!/bin/sh
# Fails if libmx.so exports a dynamic symbol outside mx_* (or a plugin anything but its entry).
set -eu
lib=$1; allowed=$2
leaks=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v -E "^($allowed)\$" | grep -v -E '^(_init|_fini|_edata|_end|__bss_start)$' || true)
count=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -c -E "^($allowed)\$" || true)
if [ -n "$leaks" ]; then echo "$lib exports symbols outside '$allowed':"; echo "$leaks"; exit 1; fi
if [ "$count" -eq 0 ]; then echo "$lib exports nothing matching '$allowed'"; exit 1; fi
echo "$lib: $count exported symbols, all matching '$allowed'"
