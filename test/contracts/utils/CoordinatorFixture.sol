// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SibylCoordinator} from "../../../contracts/SibylCoordinator.sol";
import {
    Fulfillment,
    Model,
    RequestCommitment,
    ResultStatus
} from "../../../contracts/interfaces/SibylTypes.sol";
import {SibylEncoding} from "../../../contracts/libraries/SibylEncoding.sol";
import {MockBatchVerifier} from "../../../contracts/mocks/MockBatchVerifier.sol";
import {TestBase} from "./TestBase.sol";

/// @notice A coordinator with mock verifiers for batch sizes 1, 4, 16 and 64, one model, one
/// operator, and helpers that request and fulfil the way the node does.
abstract contract CoordinatorFixture is TestBase {
    bytes32 internal constant MODEL_ID = "test-model";
    uint96 internal constant MODEL_FEE = 0.001 ether;
    uint32 internal constant MAX_INPUT = 1024;
    uint32 internal constant MAX_OUTPUT = 2048;
    uint32 internal constant TIMEOUT = 1 hours;
    uint32 internal constant OVERHEAD_GAS = 50_000;
    uint64 internal constant MIN_GAS_PRICE = 1 gwei;
    uint32 internal constant MAX_CALLBACK_GAS = 2_000_000;
    uint128 internal constant MIN_STAKE = 1 ether;
    uint64 internal constant UNBONDING = 7 days;

    SibylCoordinator internal coordinator;
    address internal operator = address(0x0123);
    address internal requester = address(0x0456);
    mapping(uint256 batchSize => MockBatchVerifier verifier) internal mockVerifiers;

    function setUp() public virtual {
        coordinator = new SibylCoordinator(
            address(this),
            OVERHEAD_GAS,
            MIN_GAS_PRICE,
            MAX_CALLBACK_GAS,
            MIN_STAKE,
            UNBONDING
        );
        uint256[4] memory sizes = [uint256(1), 4, 16, 64];
        for (uint256 i; i < sizes.length; ++i) {
            mockVerifiers[sizes[i]] = new MockBatchVerifier(sizes[i]);
            coordinator.setVerifier(sizes[i], address(mockVerifiers[sizes[i]]));
        }
        coordinator.registerModel(MODEL_ID, _model());
        vm.deal(operator, 10 ether);
        vm.prank(operator);
        coordinator.registerOperator{value: MIN_STAKE}();
        vm.deal(requester, 100 ether);
    }

    function _model() internal pure returns (Model memory) {
        return
            Model({
                fee: MODEL_FEE,
                maxInputBytes: MAX_INPUT,
                maxOutputBytes: MAX_OUTPUT,
                timeout: TIMEOUT,
                enabled: true,
                configHash: keccak256("test-config")
            });
    }

    /// @dev Requests as `from`, paying the exact fee, and returns the commitment the node would rebuild.
    function _request(
        address from,
        bytes memory input,
        uint32 callbackGasLimit
    ) internal returns (RequestCommitment memory commitment) {
        uint256 fee = coordinator.estimateFee(MODEL_ID, callbackGasLimit);
        vm.prank(from);
        uint256 requestId = coordinator.request{value: fee}(MODEL_ID, input, callbackGasLimit);
        commitment = RequestCommitment({
            requestId: requestId,
            modelId: MODEL_ID,
            inputHash: keccak256(input),
            requester: from,
            fee: uint96(fee),
            deadline: uint64(block.timestamp) + TIMEOUT,
            callbackGasLimit: callbackGasLimit,
            maxOutputBytes: MAX_OUTPUT
        });
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
                metadata: '{"model":"test"}'
            });
    }

    function _single(Fulfillment memory fulfillment) internal pure returns (Fulfillment[] memory batch) {
        batch = new Fulfillment[](1);
        batch[0] = fulfillment;
    }

    /// @dev The statement a batch must prove, as the coordinator will build it, for a chosen new root.
    function _signals(
        Fulfillment[] memory batch,
        uint256 newRoot
    ) internal view returns (uint256[] memory signals) {
        uint256 batchSize = _batchSizeFor(batch.length);
        uint256 nextIndex = coordinator.nextIndex();
        signals = new uint256[](batchSize + 3);
        signals[0] = coordinator.root();
        signals[1] = newRoot;
        signals[2] = ((nextIndex + batchSize - 1) / batchSize) * batchSize;
        for (uint256 i; i < batch.length; ++i) signals[3 + i] = _leaf(batch[i]);
    }

    function _leaf(Fulfillment memory fulfillment) internal pure returns (uint256) {
        RequestCommitment memory commitment = fulfillment.commitment;
        return
            SibylEncoding.leafOf(
                commitment.requestId,
                commitment.modelId,
                commitment.inputHash,
                keccak256(fulfillment.output),
                keccak256(fulfillment.metadata),
                fulfillment.status
            );
    }

    /// @dev A valid proof (for the mock verifiers) of appending `batch` with a new root derived from it.
    function _prove(
        Fulfillment[] memory batch
    ) internal view returns (uint256 newRoot, uint256[8] memory proof) {
        newRoot =
            uint256(keccak256(abi.encode(coordinator.root(), batch.length, _leaf(batch[0])))) %
            SibylEncoding.SNARK_SCALAR_FIELD;
        proof = mockVerifiers[_batchSizeFor(batch.length)].proofFor(_signals(batch, newRoot));
    }

    function _fulfill(Fulfillment[] memory batch) internal returns (uint256 newRoot) {
        uint256[8] memory proof;
        (newRoot, proof) = _prove(batch);
        vm.prank(operator);
        coordinator.fulfill(batch, newRoot, proof);
    }

    function _batchSizeFor(uint256 count) internal pure returns (uint256) {
        if (count <= 1) return 1;
        if (count <= 4) return 4;
        if (count <= 16) return 16;
        return 64;
    }
}
