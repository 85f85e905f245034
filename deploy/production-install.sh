#!/bin/sh
# The production install, exactly as the Dockerfile performs it:
#   deploy/production-install.sh SOURCE TARGET
# SOURCE is a checkout where `npm ci` has run (it builds dist/ and packages/verifier/dist/).
# TARGET receives what the image ships — package.json, the lock file, prisma/ (schema and
# migrations), the built dist/ and the verifier workspace package — and only the production
# dependencies, installed from the lock file. Install scripts are skipped: `prepare` would build
# again (TypeScript is a development dependency) and the native modules ship prebuilt binaries.
# Start it with `node dist/server.js`, or run migrations with `node dist/cli.js migrate`.
set -eu
source_dir=$(cd "$1" && pwd)
target_dir=$2

for built in dist/server.js packages/verifier/dist/index.js; do
  test -f "$source_dir/$built" || { echo "no $source_dir/$built: build first (npm ci, or npm run build)" >&2; exit 1; }
done
mkdir -p "$target_dir/packages/verifier"
cp "$source_dir/package.json" "$source_dir/package-lock.json" "$target_dir/"
cp -R "$source_dir/prisma" "$source_dir/dist" "$target_dir/"
cp -R "$source_dir/packages/verifier/package.json" "$source_dir/packages/verifier/dist" "$target_dir/packages/verifier/"
rm -f "$target_dir/dist/.tsbuildinfo" "$target_dir/packages/verifier/dist/.tsbuildinfo"
cd "$target_dir"
NODE_ENV=production npm ci --omit=dev --ignore-scripts --no-audit --no-fund
