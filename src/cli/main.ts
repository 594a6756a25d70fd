export async function main(argv: string[]): Promise<void> {
  console.log('todo', argv.length);
}
