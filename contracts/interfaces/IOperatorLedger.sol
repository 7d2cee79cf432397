// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Operator, OperatorParameters, ResultStatement} from "./SibylTypes.sol";

/// @title IOperatorLedger
/// @notice The operators' ledger, outliving every coordinator version: stakes, the active set, the
/// models each operator declares it serves (requests are assigned only among those), co-signing
/// endpoints, liveness penalties and equivocation slashes. Stake moves
/// only by its operator (stake, exit, withdraw), on the word of a coordinator the log authorizes (a
/// liveness penalty, which is burned), or on evidence the ledger checks itself (an equivocation).
/// @dev Its ether is exactly the operators' stakes plus what penalties burned.
interface IOperatorLedger {
    /// @notice Only a coordinator the log authorizes may assign requests and penalize operators.
    error NotCoordinator(address caller);
    /// @notice The caller is not an active operator.
    error NotActiveOperator(address caller);
    /// @notice No active operator declared the model: a request for it could not be assigned.
    error NoOperatorForModel(bytes32 modelId);
    /// @notice Fewer active operators declared the model than its quorum needs: no request could be
    /// answered.
    error NotEnoughOperators(bytes32 modelId, uint256 serving, uint8 quorum);
    /// @notice The operator already declared the model.
    error ModelAlreadyDeclared(address operator, bytes32 modelId);
    /// @notice The operator never declared the model, or withdrew it.
    error ModelNotDeclared(address operator, bytes32 modelId);
    /// @notice An operator declares at most MAX_MODELS_PER_OPERATOR models.
    error TooManyModels(address operator, uint256 limit);
    /// @notice The operator is already registered and active.
    error OperatorAlreadyActive(address operator);
    /// @notice The stake is below the minimum.
    error StakeTooLow(uint256 stake, uint256 minStake);
    /// @notice The operator has no stake that can be withdrawn yet.
    error StakeLocked(address operator, uint64 unlockAt);
    /// @notice There is nothing to withdraw.
    error NothingToWithdraw(address account);
    /// @notice Sending ether to `to` failed; the stake is kept.
    error TransferFailed(address to, uint256 amount);
    /// @notice The unbonding delay or exclusive window is longer than the ledger allows.
    error OperatorDelayTooLong(uint64 delay, uint64 limit);
    /// @notice Basis points above 10,000.
    error SlashShareTooHigh(uint16 bps);
    /// @notice An operator's published endpoint is at most MAX_ENDPOINT_BYTES long.
    error EndpointTooLong(uint256 length, uint256 maxLength);
    /// @notice The statements name a coordinator the log never authorized.
    error UnknownCoordinator(address coordinator);
    /// @notice The two statements are not one signer's different answers to one request.
    error NotEquivocation(uint256 requestId, address signerA, address signerB);
    /// @notice This operator was already slashed for equivocating on this request.
    error EquivocationAlreadySlashed(address operator, uint256 requestId);
    /// @notice A report must be committed (commitEquivocationReport) in an earlier block by its sender.
    error ReportNotCommitted(bytes32 commitment);
    /// @notice The operator has no stake left to slash.
    error NothingToSlash(address operator);

    event OperatorParametersSet(OperatorParameters parameters);
    event OperatorRegistered(address indexed operator, uint256 stake);
    event OperatorExitRequested(address indexed operator, uint64 unlockAt);
    event StakeWithdrawn(address indexed operator, uint256 amount);
    /// @notice `operator` serves `modelId`: while active, it is drawn for the model's requests and may
    /// co-sign or take over their results.
    event ModelDeclared(address indexed operator, bytes32 indexed modelId);
    /// @notice `operator` no longer serves `modelId` (e.g. its node stopped it on an operator fault):
    /// it is not drawn for the model's new requests.
    event ModelWithdrawn(address indexed operator, bytes32 indexed modelId);
    /// @notice `operator` publishes where its node takes co-signing requests from other operators.
    event OperatorEndpointSet(address indexed operator, string endpoint);
    /// @notice `operator` let request `requestId`'s exclusive window pass and lost `amount` of its
    /// stake, burned: nobody gains by causing it.
    event OperatorPenalized(address indexed operator, uint256 indexed requestId, uint256 amount);
    /// @notice `operator` signed two different answers to request `requestId`; `amount` of its stake
    /// went to `reporter`, and it left the active set.
    event OperatorSlashed(
        address indexed operator,
        uint256 indexed requestId,
        address indexed reporter,
        uint256 amount
    );
    /// @notice `operator` left the active set without asking (slashed, or its stake could no longer pay
    /// a liveness penalty); its stake unlocks at `unlockAt`.
    event OperatorDeactivated(address indexed operator, uint64 unlockAt);

    /// @notice Registers msg.sender as an operator, staking msg.value (added to any stake left); it
    /// joins the active set, and is drawn for the models it declared.
    function registerOperator() external payable;

    /// @notice msg.sender serves `modelId`: while it is active, the model's requests may be assigned
    /// to it. Declarations outlive an exit: an operator that registers again serves them again.
    function declareModel(bytes32 modelId) external;

    /// @notice msg.sender stops serving `modelId`: it is not drawn for the model's new requests (those
    /// already assigned to it stay its own until their window passes).
    function withdrawModel(bytes32 modelId) external;

    /// @notice The models `operator` declared.
    function declaredModels(address operator) external view returns (bytes32[] memory);

    /// @notice The active operators that declared `modelId`: the ones its requests are drawn from.
    function operatorsFor(bytes32 modelId) external view returns (address[] memory);

    /// @notice Whether `operator` is active and declared `modelId`: it may be drawn for, co-sign and
    /// take over the model's requests.
    function serves(address operator, bytes32 modelId) external view returns (bool);

    /// @notice Stops msg.sender being assigned; its stake unlocks after the unbonding delay.
    function requestOperatorExit() external;

    /// @notice Withdraws msg.sender's unlocked stake.
    function withdrawStake() external;

    function operatorOf(address operator) external view returns (Operator memory);

    /// @notice Publishes where msg.sender's node takes co-signing requests (a URL; empty to withdraw).
    function setOperatorEndpoint(string calldata endpoint) external;

    /// @notice Where `operator`'s node takes co-signing requests, as it published it.
    function operatorEndpoint(address operator) external view returns (string memory);

    /// @notice The operators new requests are assigned to.
    function activeOperators() external view returns (address[] memory);

    function isActive(address operator) external view returns (bool);

    function operatorParameters() external view returns (OperatorParameters memory);

    /// @notice Owner only.
    function setOperatorParameters(OperatorParameters calldata parameters) external;

    /// @notice The operator request `requestId` for `modelId` is assigned to, drawn from the active
    /// operators that declared the model with this block's beacon randomness, and when its exclusive
    /// window closes.
    function assign(
        uint256 requestId,
        bytes32 modelId,
        uint8 quorum
    ) external view returns (address operator, uint64 exclusiveUntil);

    /// @notice When an exclusive window opened now closes.
    function exclusiveUntilNow() external view returns (uint64);

    /// @notice Burns the liveness penalty from the stake of `operator`, late on request `requestId`.
    /// Authorized coordinators only; returns what was taken.
    function penalize(address operator, uint256 requestId) external returns (uint256 taken);

    /// @notice Ether burned by liveness penalties: held here for good, never paid to anyone.
    function burned() external view returns (uint256);

    /// @notice Step one of reporting an equivocation: `commitment` is keccak256(abi.encode(reporter,
    /// coordinator, a, signatureA, b, signatureB)). The report is accepted from a later block, so a copy
    /// of it seen in the mempool cannot take the reporter's reward.
    function commitEquivocationReport(bytes32 commitment) external;

    /// @notice Proves that one operator signed two different answers (`a`, `b`) to one request of
    /// `coordinator`: it loses equivocationSlashBps of its stake to msg.sender and its active status.
    /// Stake still unbonding is slashable; each operator once per request and coordinator.
    function reportEquivocation(
        address coordinator,
        ResultStatement calldata a,
        bytes calldata signatureA,
        ResultStatement calldata b,
        bytes calldata signatureB
    ) external;
}
