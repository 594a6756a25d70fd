import { describe, expect, it } from 'vitest';
import { artifactFileName, isArtifactFileName, parseArtifactFileName } from '../../src/core/artifact-file-name.js';
import { artifactEntrySchema } from '../../src/core/session.js';

describe('artifactFileName', () => {
  it.each([
    [1, 'plan', 1, '01-plan.md'],
    [2, 'review', 1, '02-review.md'],
    [5, 'implement', 2, '05-implement-iter2.md'],
    [12, 'validate', 3, '12-validate-iter3.md'],
    [99, 'pattern', 1, '99-pattern.md'],
  ] as const)('%i %s iter %i -> %s', (index, phase, iteration, expected) => {
    const name = artifactFileName(index, phase, iteration);
    expect(name).toBe(expected);
    expect(isArtifactFileName(name)).toBe(true);
    expect(parseArtifactFileName(name)).toEqual({ index, phase, iteration });
  });

  it('agrees with the session schema file rule', () => {
    const file = artifactFileName(7, 'implement', 4);
    expect(artifactEntrySchema.shape.file.safeParse(file).success).toBe(true);
  });

  it.each([
    [0, 'plan', 1],
    [100, 'plan', 1],
    [1.5, 'plan', 1],
    [1, 'plan', 0],
    [1, 'nope', 1],
  ])('refuses index %s phase %s iteration %s', (index, phase, iteration) => {
    expect(() => artifactFileName(index, phase as 'plan', iteration)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it.each(['../x', '01-plan.md/../../x', '/etc/passwd', '01-plan.txt', '1-plan.md', '01-plan', '01-deploy.md', '01-plan.md\n', 'a/01-plan.md', '01-plan-iter.md', ''])(
    'rejects %j as an artifact name',
    (name) => {
      expect(isArtifactFileName(name)).toBe(false);
      expect(parseArtifactFileName(name)).toBeUndefined();
    },
  );
});
