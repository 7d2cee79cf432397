/**
 * Sibyl's SDK for dapps: typed viem actions to request inference, wait for and watch results, and verify
 * them against the coordinator's onchain root. Browser-safe: it needs nothing but an RPC endpoint.
 */

export { sibylConsumerAbi, sibylCoordinatorAbi } from "../shared/abi/generated.js";
export {
  modelIdFromName,
  type RequestCommitment,
  ResultStatus,
  resultLeaf,
  TREE_DEPTH,
} from "../shared/encoding.js";
export { SibylError } from "../shared/errors.js";
export {
  type CancelRequestParameters,
  type CancelRequestReturnType,
  cancelRequest,
} from "./cancelRequest.js";
export {
  type CheckResultParameters,
  type CheckResultReturnType,
  checkResult,
  RESULT_STATE_MEANING,
  type ResultState,
} from "./checkResult.js";
export { coordinatorError, type RevertContext } from "./coordinatorErrors.js";
export {
  AccountNotFoundError,
  CoordinatorRevertedError,
  IncompleteLogError,
  InsufficientPaymentError,
  RequestExpiredError,
  RequestNotFoundError,
  ResultNotFoundError,
  ResultTimeoutError,
  TransactionRevertedError,
  UnknownModelError,
} from "./errors.js";
export { type EstimateFeeParameters, type EstimateFeeReturnType, estimateFee } from "./estimateFee.js";
export { type GetBatchesParameters, getBatches } from "./getBatches.js";
export {
  type GetOperatorStatsParameters,
  type GetOperatorStatsReturnType,
  getOperatorStats,
  type OperatorState,
  type OperatorStats,
} from "./getOperatorStats.js";
export { type GetRequestParameters, type GetRequestReturnType, getRequest } from "./getRequest.js";
export { type GetResultParameters, type GetResultReturnType, getResult } from "./getResult.js";
export {
  batchesOf,
  type CheckInclusionParameters,
  type CheckInclusionReturnType,
  checkInclusion,
  claimedLeaf,
  deliveredLeaf,
  findResultEntry,
  type ResultClaim,
  type ResultLogEntry,
  rebuildLeaves,
} from "./logReader.js";
export {
  type CheckPendingParameters,
  type CheckPendingReturnType,
  checkPending,
  extendChain,
  type PendingLog,
  pendingLogFrom,
  queuedResults,
} from "./pendingQueue.js";
export { QUOTE_BASE_FEE_MULTIPLIER, type QuoteGasPriceReturnType, quoteGasPrice } from "./quoteGasPrice.js";
export {
  type RequestInferenceParameters,
  type RequestInferenceReturnType,
  requestInference,
} from "./requestInference.js";
export {
  type AppendedBatch,
  type BatchAppendedArgs,
  batchCovers,
  CallbackOutcome,
  type EventLocation,
  leafIndexIn,
  type ResultDeliveredArgs,
  type SibylResult,
  toSibylResult,
} from "./types.js";
export {
  type BytesInput,
  decodeUtf8,
  type ModelReference,
  modelNameOf,
  resolveModelId,
  toBytesHex,
} from "./utils.js";
export {
  type VerifyResultParameters,
  type VerifyResultReturnType,
  verifyResult,
} from "./verifyResult.js";
export {
  type WaitForResultParameters,
  type WaitForResultReturnType,
  waitForResult,
} from "./waitForResult.js";
export {
  type BlockStamp,
  type PollForResultOptions,
  pollForResult,
  RESULT_POLLING_INTERVAL_MS,
  type ResultReader,
} from "./waiting.js";
export {
  type WatchResultsParameters,
  type WatchResultsReturnType,
  watchResults,
} from "./watchResults.js";
