/**
 * Lists every export of the package's entry point (src/index.ts), followed through its re-exports to
 * its declarations, and whether their TSDoc shows an `@example` with a ```ts block (the blocks
 * test/docs/examples.test.ts compiles). test/docs/tsdoc-coverage.test.ts keeps every export covered.
 *
 *   node --import tsx scripts/tsdoc-coverage.ts [--missing]
 */
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..');
const ENTRY = join(ROOT, 'src', 'index.ts');

/** One export of src/index.ts: where it is declared and what its TSDoc holds. */
export interface ExportDoc {
  name: string;
  /** `value` (a class, function, constant), `type` (an interface or alias) or both, as `value+type`. */
  kind: 'value' | 'type' | 'value+type';
  /** The declaring file, relative to the repository, and the line of its first declaration. */
  where: string;
  /** Some declaration has a TSDoc comment. */
  tsdoc: boolean;
  /** Some declaration's TSDoc has an `@example` tag with a ```ts block. */
  example: boolean;
}

/** The TSDoc comments of a declaration (a variable's are on its statement, which `getJSDocCommentsAndTags` finds). */
function docsOf(decl: ts.Declaration): ts.JSDoc[] {
  return ts.getJSDocCommentsAndTags(decl).filter((d): d is ts.JSDoc => ts.isJSDoc(d));
}

function hasExample(doc: ts.JSDoc): boolean {
  return (doc.tags ?? []).some((t) => t.tagName.text === 'example' && /```ts\b/.test(ts.getTextOfJSDocComment(t.comment) ?? ''));
}

/** Every export of src/index.ts, in name order, with its TSDoc coverage. */
export function exportDocs(): ExportDoc[] {
  const program = ts.createProgram([ENTRY], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const entry = checker.getSymbolAtLocation(program.getSourceFile(ENTRY)!)!;
  return checker
    .getExportsOfModule(entry)
    .map((exported) => {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const decls = symbol.declarations ?? [];
      const value = (symbol.flags & ts.SymbolFlags.Value) !== 0;
      const type = (symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) !== 0;
      const first = decls[0];
      const sf = first?.getSourceFile();
      const line = sf ? sf.getLineAndCharacterOfPosition(first.getStart()).line + 1 : 0;
      const docs = decls.flatMap(docsOf);
      return {
        name: exported.name,
        kind: value && type ? 'value+type' : value ? 'value' : 'type',
        where: sf ? `${relative(ROOT, sf.fileName)}:${line}` : '?',
        tsdoc: docs.length > 0,
        example: docs.some(hasExample),
      } satisfies ExportDoc;
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const all = exportDocs();
  const missing = all.filter((e) => !e.example);
  for (const e of process.argv.includes('--missing') ? missing : all) {
    console.log(`${e.example ? 'example ' : e.tsdoc ? 'no-ex   ' : 'no-doc  '} ${e.kind.padEnd(10)} ${e.name.padEnd(28)} ${e.where}`);
  }
  console.log(`${all.length} exports: ${all.length - missing.length} with an @example, ${missing.length} without (${missing.filter((e) => !e.tsdoc).length} with no TSDoc)`);
}
