/** The `sibyl` command line. Only `dev` is named so far, and it is not built yet. */
const command = process.argv[2];

if (command === "dev") {
  process.stderr.write(
    "sibyl dev is not built yet: the contracts, the node and the devnet arrive with the next issues.\n" +
      "What works today: `npm test` (circuits, tree, prover, verifiers) and `npm run bench:prover`.\n",
  );
} else {
  process.stderr.write(`usage: sibyl dev\n${command ? `unknown command: ${command}\n` : ""}`);
}
process.exit(1);
