/**
 * `sibyl operator register|serve|unserve|exit|withdraw`: an operator's stake in the ledger, the models
 * it declares it serves, and its earnings, from its own key.
 */
import { parseArgs } from "node:util";
import { formatEther, http, parseEther } from "viem";
import { declareModels, registerOperator } from "../../deploy/index.js";
import { resolveModelId } from "../../sdk/utils.js";
import { operatorLedgerAbi, sibylCoordinatorAbi } from "../../shared/abi/generated.js";
import { CliError, rejected, UsageError } from "../errors.js";
import { OPERATOR_KEY_HELP, OPERATOR_KEY_OPTIONS, operatorAccountFor } from "../operatorAccount.js";
import { resolveTarget, TARGET_HELP, TARGET_OPTIONS } from "../target.js";
import { walletOn } from "../wallet.js";
import { operatorKeystoreCommand } from "./operatorKeystore.js";

export const OPERATOR_USAGE = `usage: sibyl operator <register|serve|unserve|exit|withdraw> [options]
       sibyl operator keystore <new|import> --out <file> [options]   (sibyl operator keystore --help)

  register            stake and become an active operator (--amount <eth>, default the ledger's minStake);
                      with --model, declare the models it serves
  serve               declare the --model(s) it serves: only operators that declared a model are drawn
                      for its requests (a node declares the models it runs when it starts)
  unserve             withdraw the --model(s): not drawn for their new requests from now on
  exit                stop taking requests; the stake unlocks after the ledger's unbonding delay
  withdraw            withdraw earned fees from the current coordinator; with --stake, the unlocked
                      stake after an exit (from the ledger)
  keystore            make the encrypted keystore file the node and these commands sign with

Options:
${TARGET_HELP}
${OPERATOR_KEY_HELP}
  --model <name>          register, serve, unserve: a model's name or id (repeat for several)
  --amount <eth>          register: how much to stake
  --stake                 withdraw: the unlocked stake instead of earned fees
  -h, --help              show this help
`;

const ACTIONS = ["register", "serve", "unserve", "exit", "withdraw"] as const;
type Action = (typeof ACTIONS)[number];

export async function operatorCommand(args: string[]): Promise<number> {
  if (args[0] === "keystore") return operatorKeystoreCommand(args.slice(1));
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...TARGET_OPTIONS,
      ...OPERATOR_KEY_OPTIONS,
      amount: { type: "string" },
      model: { type: "string", multiple: true },
      stake: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(OPERATOR_USAGE);
    return 0;
  }
  const action = positionals[0] as Action | undefined;
  if (positionals.length !== 1 || !ACTIONS.includes(action as Action)) {
    throw new UsageError(`sibyl operator takes one of: ${ACTIONS.join(", ")}, keystore`, OPERATOR_USAGE);
  }
  const target = await resolveTarget(values);
  const chainId = await target.client.getChainId();
  const account = await operatorAccountFor(values, chainId);
  const ledger = { address: target.contracts.ledger, abi: operatorLedgerAbi } as const;

  const models = values.model ?? [];
  if ((action === "serve" || action === "unserve") && models.length === 0)
    throw new UsageError(`sibyl operator ${action} needs at least one --model`, OPERATOR_USAGE);
  const connection = { provider: http(target.rpcUrl)({}) };
  if (action === "serve") {
    const declared = await declareModels(connection, {
      coordinator: target.coordinator,
      operator: account,
      models,
    }).catch((error) => {
      throw rejected("declareModel", error);
    });
    process.stdout.write(
      `${account.address} serves ${models.join(", ")} (${declared.length} newly declared)\n`,
    );
    return 0;
  }
  if (action === "unserve") {
    const wallet = walletOn(target.rpcUrl, chainId, account);
    for (const model of models) {
      const hash = await wallet
        .writeContract({ ...ledger, functionName: "withdrawModel", args: [resolveModelId(model)] })
        .catch((error) => {
          throw rejected("withdrawModel", error);
        });
      const receipt = await target.client.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new CliError(`withdrawModel reverted in ${hash}`);
    }
    process.stdout.write(`${account.address} no longer serves ${models.join(", ")}\n`);
    return 0;
  }

  if (action === "register") {
    const stake = values.amount === undefined ? undefined : etherOf(values.amount);
    const { registered } = await registerOperator(connection, {
      coordinator: target.coordinator,
      operator: account,
      models,
      ...(stake === undefined ? {} : { stake }),
    }).catch((error) => {
      throw rejected("registerOperator", error);
    });
    const { stake: staked } = await target.client.readContract({
      ...ledger,
      functionName: "operatorOf",
      args: [account.address],
    });
    process.stdout.write(
      `${account.address} ${registered ? "is now" : "was already"} an active operator, stake ${formatEther(staked)} ETH\n`,
    );
    return 0;
  }

  const wallet = walletOn(target.rpcUrl, chainId, account);
  const functionName =
    action === "exit" ? "requestOperatorExit" : values.stake ? "withdrawStake" : "withdraw";
  const call =
    functionName === "withdraw"
      ? wallet.writeContract({ address: target.coordinator, abi: sibylCoordinatorAbi, functionName })
      : wallet.writeContract({ ...ledger, functionName });
  const hash = await call.catch((error) => {
    throw rejected(functionName, error);
  });
  const receipt = await target.client.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new CliError(`${functionName} reverted in ${hash}`);
  if (action === "exit") {
    const { unlockAt } = await target.client.readContract({
      ...ledger,
      functionName: "operatorOf",
      args: [account.address],
    });
    process.stdout.write(
      `${account.address} left the active set; its stake unlocks at ${new Date(Number(unlockAt) * 1000).toISOString()} (sibyl operator withdraw --stake)\n`,
    );
  } else {
    process.stdout.write(`${functionName} sent in ${hash}\n`);
  }
  return 0;
}

function etherOf(text: string): bigint {
  if (!/^\d+(\.\d+)?$/.test(text)) throw new CliError(`--amount: not an amount of ether: ${text}`);
  return parseEther(text);
}
