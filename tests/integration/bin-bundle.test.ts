// bin/bundle.mjs: `bin/labsync` runs bin/cli.ts from a bundle that must never be older than its
// sources. Here on a small tree of its own (a bin/cli.ts importing one module) in a temp folder.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bundledCli } from '../../bin/bundle.mjs'
import { removeDir, tempDir } from '../helpers/relay.ts'

const root = tempDir('labsync-bundle-')
test.after(() => removeDir(root))

function writeSources(word: string, at: Date): void {
  mkdirSync(join(root, 'bin'), { recursive: true })
  mkdirSync(join(root, 'lib'), { recursive: true })
  writeFileSync(join(root, 'bin', 'cli.ts'), "import { word } from '../lib/word.ts'\nconst dir: string = import.meta.dirname\nconsole.log(`${word} ${dir} ${import.meta.url}`)\n")
  writeFileSync(join(root, 'lib', 'word.ts'), `export const word: string = '${word}'\n`)
  for (const file of ['bin/cli.ts', 'lib/word.ts']) utimesSync(join(root, file), at, at)
}

async function run(): Promise<{ entry: string; output: string }> {
  const entry = await bundledCli(root)
  assert.ok(entry, 'a bundle was made')
  const child = spawnSync(process.execPath, [entry!], { encoding: 'utf8' })
  assert.is(child.status, 0, child.stderr)
  return { entry: entry!, output: child.stdout.trim() }
}

test('a bundle runs the sources, each with its own import.meta; it is made again when a source it imports changes, not otherwise', async () => {
  const an = new Date(Date.now() - 60_000)
  writeSources('alpha', an)
  const first = await run()
  assert.is(first.output, `alpha ${join(root, 'bin')} file://${join(root, 'bin', 'cli.ts')}`)
  assert.is((await run()).entry, first.entry, 'unchanged sources: the same bundle')
  // Same size, a later time: only the stamp tells.
  writeSources('bravo', new Date(an.getTime() + 1000))
  const second = await run()
  assert.is(second.output.split(' ')[0], 'bravo')
  assert.is.not(second.entry, first.entry)
})

test.run()
