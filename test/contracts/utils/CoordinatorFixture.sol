// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {OperatorLedger} from "../../../contracts/OperatorLedger.sol";
import {SibylCoordinator} from "../../../contracts/SibylCoordinator.sol";
import {SibylLog} from "../../../contracts/SibylLog.sol";
import {ISibylCoordinator} from "../../../contracts/interfaces/ISibylCoordinator.sol";
import {
    FeeParameters,
    Fulfillment,
    Model,
    OperatorParameters,
    RequestCommitment,
    ResultStatus
} from "../../../contracts/interfaces/SibylTypes.sol";
import {SibylEncoding} from "../../../contracts/libraries/SibylEncoding.sol";
import {MockBatchVerifier} from "../../../contracts/mocks/MockBatchVerifier.sol";
import {TestBase} from "./TestBase.sol";
import {Vm} from "./Vm.sol";

/// @notice A deployment as the deploy script makes it: the log (mock verifiers for batch sizes 1, 4,
/// 16 and 64), the operators' ledger on it, and a coordinator the log authorizes, with one model and
/// one operator; helpers that request, fulfil, deliver and prove the way the node does.
abstract contract CoordinatorFixture is TestBase {
    bytes32 internal constant MODEL_ID = "test-model";
    uint96 internal constant MODEL_FEE = 0.001 ether;
    uint32 internal constant MAX_INPUT = 1024;
    uint32 internal constant MAX_OUTPUT = 2048;
    uint32 internal constant TIMEOUT = 1 hours;
    uint32 internal constant DELIVERY_GAS = 350_000;
    uint32 internal constant GAS_PER_OUTPUT_BYTE = 40;
    uint64 internal constant MIN_GAS_PRICE = 1 gwei;
    uint64 internal constant MAX_TIP = 2 gwei;
    uint32 internal constant MAX_CALLBACK_GAS = 2_000_000;
    uint32 internal constant PROOF_GAS_PER_LEAF = 12_000;
    uint128 internal constant MIN_STAKE = 1 ether;
    uint64 internal constant UNBONDING = 7 days;
    uint64 internal constant EXCLUSIVE_WINDOW = 5 minutes;
    uint128 internal constant LIVENESS_PENALTY = 0.01 ether;
    uint16 internal constant EQUIVOCATION_SLASH_BPS = 5_000;

    SibylLog internal log;
    OperatorLedger internal ledger;
    SibylCoordinator internal coordinator;
    address internal operator = address(0x0123);
    address internal requester = address(0x0456);
    mapping(uint256 batchSize => MockBatchVerifier verifier) internal mockVerifiers;
    /// @dev Leaves delivered without a proof and not yet proven, in sequence order.
    uint256[] internal pendingLeaves;

    function setUp() public virtual {
        log = new SibylLog(address(this));
        ledger = new OperatorLedger(address(this), log, _operatorParameters());
        coordinator = _newCoordinator(1);
        log.authorizeCoordinator(address(coordinator));
        uint256[4] memory sizes = [uint256(1), 4, 16, 64];
        for (uint256 i; i < sizes.length; ++i) {
            mockVerifiers[sizes[i]] = new MockBatchVerifier(sizes[i]);
            log.setVerifier(sizes[i], address(mockVerifiers[sizes[i]]));
        }
        vm.deal(operator, 10 ether);
        vm.prank(operator);
        ledger.registerOperator{value: MIN_STAKE}();
        _declare(operator, MODEL_ID);
        vm.deal(requester, 100 ether);
    }

    /// @dev `account` serves `modelId` in the ledger.
    function _declare(address account, bytes32 modelId) internal {
        vm.prank(account);
        ledger.declareModel(modelId);
    }

    /// @dev A coordinator version on this deployment's log and ledger, taking ids from `firstRequestId`,
    /// with the fixture's model registered (not yet authorized).
    function _newCoordinator(uint256 firstRequestId) internal returns (SibylCoordinator version) {
        version = new SibylCoordinator(address(this), log, ledger, firstRequestId, _feeParameters());
        version.registerModel(MODEL_ID, _model());
    }

    function _feeParameters() internal pure returns (FeeParameters memory) {
        return
            FeeParameters({
                deliveryGas: DELIVERY_GAS,
                gasPerOutputByte: GAS_PER_OUTPUT_BYTE,
                minGasPrice: MIN_GAS_PRICE,
                maxPriorityFeePerGas: MAX_TIP,
                maxCallbackGasLimit: MAX_CALLBACK_GAS,
                proofGasPerLeaf: PROOF_GAS_PER_LEAF
            });
    }

    function _operatorParameters() internal pure returns (OperatorParameters memory) {
        return
            OperatorParameters({
                minStake: MIN_STAKE,
                unbondingDelay: UNBONDING,
                exclusiveWindow: EXCLUSIVE_WINDOW,
                livenessPenalty: LIVENESS_PENALTY,
                equivocationSlashBps: EQUIVOCATION_SLASH_BPS
            });
    }

    function _model() internal pure returns (Model memory) {
        return
            Model({
                fee: MODEL_FEE,
                maxInputBytes: MAX_INPUT,
                maxOutputBytes: MAX_OUTPUT,
                timeout: TIMEOUT,
                enabled: true,
                quorum: 1,
                configHash: keccak256("test-config")
            });
    }

    /// @dev Requests as `from`, escrowing the least the coordinator takes now, refunds to `from`.
    function _request(
        address from,
        bytes memory input,
        uint32 callbackGasLimit
    ) internal returns (RequestCommitment memory) {
        return _requestWith(from, input, callbackGasLimit, _escrowNow(callbackGasLimit), from);
    }

    function _escrowNow(uint32 callbackGasLimit) internal view returns (uint256) {
        return coordinator.estimateFee(MODEL_ID, callbackGasLimit, block.basefee);
    }

    /// @dev Requests as `from` and returns the commitment from InferenceRequested, as the node reads it.
    function _requestWith(
        address from,
        bytes memory input,
        uint32 callbackGasLimit,
        uint256 escrow,
        address refundTo
    ) internal returns (RequestCommitment memory commitment) {
        vm.recordLogs();
        vm.prank(from);
        coordinator.request{value: escrow}(MODEL_ID, input, callbackGasLimit, refundTo);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == ISibylCoordinator.InferenceRequested.selector) {
                (commitment, ) = abi.decode(logs[i].data, (RequestCommitment, bytes));
                return commitment;
            }
        }
        revert AssertionFailed("no InferenceRequested event");
    }

    function _fulfillment(
        RequestCommitment memory commitment,
        bytes memory output
    ) internal pure returns (Fulfillment memory) {
        return
            Fulfillment({
                commitment: commitment,
                status: uint8(ResultStatus.Ok),
                output: output,
                metadata: '{"model":"test"}',
                signatures: ""
            });
    }

    function _single(Fulfillment memory fulfillment) internal pure returns (Fulfillment[] memory batch) {
        batch = new Fulfillment[](1);
        batch[0] = fulfillment;
    }

    /// @dev The statement a batch delivered by `deliverer` must prove, as the coordinator will build
    /// it, for a chosen new root.
    function _signals(
        Fulfillment[] memory batch,
        uint256 newRoot,
        address deliverer
    ) internal view returns (uint256[] memory signals) {
        return _leafSignals(_leavesBy(batch, deliverer), newRoot);
    }

    function _signals(
        Fulfillment[] memory batch,
        uint256 newRoot
    ) internal view returns (uint256[] memory signals) {
        return _signals(batch, newRoot, operator);
    }

    /// @dev The statement appending `leaves` to the log must prove, as the coordinator will build it.
    function _leafSignals(
        uint256[] memory leaves,
        uint256 newRoot
    ) internal view returns (uint256[] memory signals) {
        uint256 batchSize = _batchSizeFor(leaves.length);
        uint256 nextIndex = log.nextIndex();
        signals = new uint256[](batchSize + 3);
        signals[0] = log.root();
        signals[1] = newRoot;
        signals[2] = ((nextIndex + batchSize - 1) / batchSize) * batchSize;
        for (uint256 i; i < leaves.length; ++i) signals[3 + i] = leaves[i];
    }

    function _leaf(Fulfillment memory fulfillment) internal view returns (uint256) {
        return _leafBy(fulfillment, operator);
    }

    function _leafBy(Fulfillment memory fulfillment, address deliverer) internal pure returns (uint256) {
        RequestCommitment memory commitment = fulfillment.commitment;
        return
            SibylEncoding.leafOf(
                commitment.requestId,
                commitment.modelId,
                commitment.inputHash,
                keccak256(fulfillment.output),
                keccak256(fulfillment.metadata),
                fulfillment.status,
                deliverer
            );
    }

    function _leavesBy(
        Fulfillment[] memory batch,
        address deliverer
    ) internal pure returns (uint256[] memory leaves) {
        leaves = new uint256[](batch.length);
        for (uint256 i; i < batch.length; ++i) leaves[i] = _leafBy(batch[i], deliverer);
    }

    /// @dev A valid proof (for the mock verifiers) of `deliverer` appending `batch`, with a new root
    /// derived from it.
    function _prove(
        Fulfillment[] memory batch,
        address deliverer
    ) internal view returns (uint256 newRoot, uint256[8] memory proof) {
        return _proveLeaves(_leavesBy(batch, deliverer));
    }

    function _prove(
        Fulfillment[] memory batch
    ) internal view returns (uint256 newRoot, uint256[8] memory proof) {
        return _prove(batch, operator);
    }

    /// @dev A valid proof (for the mock verifiers) of appending `leaves` to the log now, with a new
    /// root derived from them.
    function _proveLeaves(
        uint256[] memory leaves
    ) internal view returns (uint256 newRoot, uint256[8] memory proof) {
        newRoot =
            uint256(keccak256(abi.encode(log.root(), leaves.length, leaves[0]))) %
            SibylEncoding.SNARK_SCALAR_FIELD;
        proof = mockVerifiers[_batchSizeFor(leaves.length)].proofFor(_leafSignals(leaves, newRoot));
    }

    /// @dev Delivers `batch` without a proof as `deliverer`, and queues its leaves the way a node
    /// keeps them for _provePending.
    function _deliverAs(
        Fulfillment[] memory batch,
        address deliverer
    ) internal returns (uint256[] memory leaves) {
        vm.prank(deliverer);
        coordinator.deliver(batch);
        leaves = _leavesBy(batch, deliverer);
        for (uint256 i; i < leaves.length; ++i) pendingLeaves.push(leaves[i]);
    }

    function _deliver(Fulfillment[] memory batch) internal returns (uint256[] memory leaves) {
        return _deliverAs(batch, operator);
    }

    /// @dev The first `count` leaves delivered and not yet proven.
    function _firstPending(uint256 count) internal view returns (uint256[] memory leaves) {
        leaves = new uint256[](count);
        for (uint256 i; i < count; ++i) leaves[i] = pendingLeaves[i];
    }

    /// @dev Proves the first `count` pending leaves as `prover` (anyone may) and drops them from the
    /// queue; returns the new root.
    function _provePending(uint256 count, address prover) internal returns (uint256 newRoot) {
        uint256[] memory leaves = _firstPending(count);
        uint256[8] memory proof;
        (newRoot, proof) = _proveLeaves(leaves);
        vm.prank(prover);
        log.prove(leaves, newRoot, proof);
        _dropPending(count);
    }

    function _dropPending(uint256 count) internal {
        uint256 left = pendingLeaves.length - count;
        for (uint256 i; i < left; ++i) pendingLeaves[i] = pendingLeaves[i + count];
        for (uint256 i; i < count; ++i) pendingLeaves.pop();
    }

    function _fulfill(Fulfillment[] memory batch) internal returns (uint256 newRoot) {
        return _fulfillAs(batch, operator);
    }

    function _fulfillAs(Fulfillment[] memory batch, address deliverer) internal returns (uint256 newRoot) {
        uint256[8] memory proof;
        (newRoot, proof) = _prove(batch, deliverer);
        vm.prank(deliverer);
        coordinator.fulfill(batch, newRoot, proof);
    }

    function _batchSizeFor(uint256 count) internal pure returns (uint256) {
        if (count <= 1) return 1;
        if (count <= 4) return 4;
        if (count <= 16) return 16;
        return 64;
    }
}
