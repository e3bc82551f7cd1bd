# shellcheck shell=bash
# ci-tree.sh: sourced by scripts/ci-sanitizers.sh and scripts/ci-fuzz.sh.
#
#   ci_tree DIR CONFIGURE-ARGS...
#
# Makes DIR a configured build tree of its own: a copy of the source files
# (tracked ones and new ones git does not ignore), bootstrapped and
# configured there. A copy rather than a VPATH build because the source
# tree itself is usually configured (scripts/build.sh), and automake
# refuses to build elsewhere from a configured tree. Files that did not
# change keep their times, so a second run rebuilds only what changed; a
# change of CONFIGURE-ARGS configures again.
ci_tree() {
	ci_dir=$1
	shift
	mkdir -p "$ci_dir" || return 1
	git ls-files -z --cached --others --exclude-standard |
		grep -zv '^_build-' |
		while IFS= read -r -d '' f; do
			[ -f "$f" ] || continue
			cmp -s "$f" "$ci_dir/$f" 2>/dev/null && continue
			mkdir -p "$ci_dir/$(dirname "$f")" && cp -p "$f" "$ci_dir/$f" || exit 1
		done || return 1
	(
		cd "$ci_dir" || exit 1
		[ -x configure ] && [ configure -nt configure.ac ] || ./bootstrap >/dev/null 2>&1 || exit 1
		want="$*"
		if [ ! -f config.status ] || [ "$(cat .ci-configured 2>/dev/null)" != "$want" ]; then
			./configure --quiet "$@" >configure.out 2>&1 || { tail -n 30 configure.out; exit 1; }
			echo "$want" >.ci-configured
		fi
	)
}
