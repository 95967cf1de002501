import { splitStatements } from './migrator';

describe('splitStatements', () => {
  it('drops comment lines and splits on semicolons', () => {
    expect(
      splitStatements(
        '-- a comment\nCREATE TABLE a (x int);\n\n-- another\nCREATE INDEX i ON a (x);\n',
      ),
    ).toEqual(['CREATE TABLE a (x int)', 'CREATE INDEX i ON a (x)']);
  });
});
