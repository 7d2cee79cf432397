/** The `sibyl` command line. Only `dev` is named so far, and it is not built yet. */
const command = process.argv[2];

if (command === "dev") {
  process.stderr.write(
    "sibyl dev is not built yet: the oracle node and the devnet arrive with the next issues.\n" +
      "What works today: `npm test` (circuits, prover, contracts with real proofs) and the benchmarks\n" +
      "`npm run bench:prover`, `npm run bench:verifier`, `npm run bench:gas`.\n",
  );
} else {
  process.stderr.write(`usage: sibyl dev\n${command ? `unknown command: ${command}\n` : ""}`);
}
process.exit(1);
