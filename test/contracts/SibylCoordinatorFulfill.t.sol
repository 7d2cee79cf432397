// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "../../contracts/interfaces/ISibylLog.sol";
import {
    CallbackOutcome,
    Fulfillment,
    RequestCommitment,
    ResultStatus
} from "../../contracts/interfaces/SibylTypes.sol";
import {SibylEncoding} from "../../contracts/libraries/SibylEncoding.sol";
import {SettlementFixture} from "./utils/SettlementFixture.sol";
import {Vm} from "./utils/Vm.sol";

contract SibylCoordinatorFulfillTest is SettlementFixture {
    function _pending(uint256 count) internal returns (Fulfillment[] memory batch) {
        batch = new Fulfillment[](count);
        for (uint256 i; i < count; ++i) {
            batch[i] = _fulfillment(
                _request(requester, abi.encodePacked("question ", i), 0),
                abi.encodePacked("answer ", i)
            );
        }
    }

    /// @dev Everything a rejected fulfilment must leave as it was.
    function _state() internal view returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    log.root(),
                    log.nextIndex(),
                    coordinator.balanceOf(operator),
                    coordinator.balanceOf(requester),
                    address(coordinator).balance
                )
            );
    }

    function _expectRejected(
        Fulfillment[] memory batch,
        uint256 newRoot,
        uint256[8] memory proof,
        bytes memory err
    ) internal {
        bytes32 before = _state();
        bytes32[] memory stored = new bytes32[](batch.length);
        for (uint256 i; i < batch.length; ++i)
            stored[i] = coordinator.commitmentOf(batch[i].commitment.requestId);
        vm.expectRevert(err);
        vm.prank(operator);
        coordinator.fulfill(batch, newRoot, proof);
        assertEq(_state(), before, "nothing changed");
        for (uint256 i; i < batch.length; ++i) {
            assertEq(coordinator.commitmentOf(batch[i].commitment.requestId), stored[i], "commitment intact");
        }
    }

    /// @dev A batch with a valid proof of its own statement that must still be rejected.
    function _expectProvenRejected(Fulfillment[] memory batch, bytes memory err) internal {
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        _expectRejected(batch, newRoot, proof, err);
    }

    function test_fulfill_singleAdvancesRootChargesRefundsAndEmits() public {
        _gasPrice(10 gwei, 1 gwei);
        Fulfillment[] memory batch = _pending(1);
        RequestCommitment memory commitment = batch[0].commitment;
        vm.recordLogs();
        uint256 newRoot = _fulfill(batch);
        assertEq(log.root(), newRoot, "root");
        assertEq(log.nextIndex(), 1, "next index");
        assertEq(coordinator.commitmentOf(commitment.requestId), bytes32(0), "retired");

        Vm.Log[] memory logs = vm.getRecordedLogs();
        // The last event: the operator's pay is the result's fee, announced by nothing else.
        Vm.Log memory result = logs[logs.length - 1];
        assertEq(result.topics[0], ISibylCoordinator.ResultDelivered.selector, "result event");
        (
            uint256 sequence,
            ResultStatus status,
            CallbackOutcome outcome,
            uint256 fee,
            bytes32 inputHash,
            bytes memory output,
            bytes memory metadata
        ) = abi.decode(result.data, (uint256, ResultStatus, CallbackOutcome, uint256, bytes32, bytes, bytes));
        assertEq(sequence, 0, "the log's first result");
        assertTrue(status == ResultStatus.Ok, "status");
        assertTrue(outcome == CallbackOutcome.Skipped, "no callback asked for");
        assertEq(inputHash, commitment.inputHash, "input hash");
        assertEq(output, batch[0].output, "output");
        assertEq(metadata, batch[0].metadata, "metadata");
        assertTrue(fee > MODEL_FEE && fee < commitment.escrow, "model fee plus some gas, below the escrow");
        assertEq(coordinator.balanceOf(operator), fee, "operator paid the fee the event reports");
        assertEq(coordinator.balanceOf(requester), commitment.escrow - fee, "the rest refunded");
    }

    function test_fulfill_partialBatchesAlignAndPadWithEmptyLeaves() public {
        _fulfill(_pending(1));
        assertEq(log.nextIndex(), 1, "after batch of 1");
        Fulfillment[] memory three = _pending(3);
        uint256[] memory signals = _signals(three, 7);
        assertEq(signals.length, 4 + 3, "batch size 4");
        assertEq(signals[2], 4, "aligned start");
        assertEq(signals[6], 0, "padding leaf empty");
        _fulfill(three);
        assertEq(log.nextIndex(), 8, "whole subtree used");
        _fulfill(_pending(5));
        assertEq(log.nextIndex(), 32, "batch of 16 at 16");
        _fulfill(_pending(17));
        assertEq(log.nextIndex(), 128, "batch of 64 at 64");
    }

    function test_fulfill_errorStatusIsAnAnswer() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        Fulfillment memory failed = _fulfillment(commitment, "model unavailable");
        failed.status = uint8(ResultStatus.ModelError);
        _fulfill(_single(failed));
        assertEq(coordinator.commitmentOf(commitment.requestId), bytes32(0), "answered");
    }

    function test_fulfill_nonOperator() public {
        Fulfillment[] memory batch = _pending(1);
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch, requester);
        RequestCommitment memory commitment = batch[0].commitment;
        // Inside the window the request is only its assignee's; after it, only an active operator's.
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.NotAssignedOperator.selector,
                commitment.requestId,
                commitment.operator,
                commitment.exclusiveUntil
            )
        );
        vm.prank(requester);
        coordinator.fulfill(batch, newRoot, proof);
        vm.warp(commitment.exclusiveUntil + 1);
        vm.expectRevert(
            abi.encodeWithSelector(ISibylCoordinator.NotServingModel.selector, requester, MODEL_ID)
        );
        vm.prank(requester);
        coordinator.fulfill(batch, newRoot, proof);
    }

    /// @dev An assignee that left the active set still answers what it was assigned (as with deliver):
    /// it was drawn while active and its stake stays bonded; it may not take anyone else's.
    function test_fulfill_exitedOperator() public {
        Fulfillment[] memory batch = _pending(1);
        vm.prank(operator);
        ledger.requestOperatorExit();
        uint256 newRoot = _fulfill(batch);
        assertEq(log.root(), newRoot, "its own request answered");
        assertEq(coordinator.commitmentOf(batch[0].commitment.requestId), bytes32(0), "retired");
    }

    function test_fulfill_emptyAndOversizedBatches() public {
        uint256[8] memory proof;
        _expectRejected(
            new Fulfillment[](0),
            1,
            proof,
            abi.encodeWithSelector(ISibylLog.UnsupportedBatchSize.selector, 0)
        );
        Fulfillment[] memory batch = _pending(65);
        _expectRejected(batch, 1, proof, abi.encodeWithSelector(ISibylLog.UnsupportedBatchSize.selector, 65));
    }

    function test_fulfill_forgedProof() public {
        Fulfillment[] memory batch = _pending(2);
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        proof[0] ^= 1;
        _expectRejected(
            batch,
            newRoot,
            proof,
            abi.encodeWithSelector(ISibylLog.InvalidProof.selector, log.root(), newRoot, 0, 4)
        );
    }

    function test_fulfill_otherNewRootThanProven() public {
        Fulfillment[] memory batch = _pending(1);
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        _expectRejected(
            batch,
            newRoot + 1,
            proof,
            abi.encodeWithSelector(ISibylLog.InvalidProof.selector, log.root(), newRoot + 1, 0, 1)
        );
    }

    function test_fulfill_replayedProof() public {
        Fulfillment[] memory first = _pending(1);
        (uint256 newRoot, uint256[8] memory proof) = _prove(first);
        vm.prank(operator);
        coordinator.fulfill(first, newRoot, proof);
        // Same proof with a fresh request: the statement (root, index, leaf) differs.
        Fulfillment[] memory second = _pending(1);
        _expectRejected(
            second,
            newRoot,
            proof,
            abi.encodeWithSelector(ISibylLog.InvalidProof.selector, newRoot, newRoot, 1, 1)
        );
    }

    function test_fulfill_proofForADifferentBatch() public {
        Fulfillment[] memory proven = _pending(1);
        Fulfillment[] memory other = _pending(1);
        (uint256 newRoot, uint256[8] memory proof) = _prove(proven);
        _expectRejected(
            other,
            newRoot,
            proof,
            abi.encodeWithSelector(ISibylLog.InvalidProof.selector, log.root(), newRoot, 0, 1)
        );
    }

    function test_fulfill_tamperedOutputOrMetadata() public {
        Fulfillment[] memory batch = _pending(1);
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        bytes memory invalidProof = abi.encodeWithSelector(
            ISibylLog.InvalidProof.selector,
            log.root(),
            newRoot,
            0,
            1
        );
        batch[0].output = "a different answer";
        _expectRejected(batch, newRoot, proof, invalidProof);
        batch = _pending(1);
        (newRoot, proof) = _prove(batch);
        batch[0].metadata = '{"model":"other"}';
        invalidProof = abi.encodeWithSelector(ISibylLog.InvalidProof.selector, log.root(), newRoot, 0, 1);
        _expectRejected(batch, newRoot, proof, invalidProof);
    }

    function test_fulfill_commitmentOfAnotherRequest() public {
        Fulfillment[] memory batch = _pending(2);
        batch[0].commitment.requestId = batch[1].commitment.requestId;
        _expectProvenRejected(
            batch,
            abi.encodeWithSelector(
                ISibylCoordinator.CommitmentMismatch.selector,
                batch[1].commitment.requestId
            )
        );
    }

    function test_fulfill_tamperedCommitmentFields() public {
        Fulfillment[] memory batch = _pending(1);
        batch[0].commitment.maxOutputBytes = type(uint32).max;
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        bytes memory mismatch = abi.encodeWithSelector(
            ISibylCoordinator.CommitmentMismatch.selector,
            batch[0].commitment.requestId
        );
        _expectRejected(batch, newRoot, proof, mismatch);
        batch = _pending(1);
        batch[0].commitment.requester = operator;
        (newRoot, proof) = _prove(batch);
        mismatch = abi.encodeWithSelector(
            ISibylCoordinator.CommitmentMismatch.selector,
            batch[0].commitment.requestId
        );
        _expectRejected(batch, newRoot, proof, mismatch);
    }

    function test_fulfill_sameRequestTwiceInABatch() public {
        Fulfillment[] memory batch = _pending(2);
        batch[1] = batch[0];
        _expectProvenRejected(
            batch,
            abi.encodeWithSelector(
                ISibylCoordinator.RequestNotPending.selector,
                batch[0].commitment.requestId
            )
        );
    }

    function test_fulfill_alreadyFulfilled() public {
        Fulfillment[] memory batch = _pending(1);
        _fulfill(batch);
        _expectProvenRejected(
            batch,
            abi.encodeWithSelector(
                ISibylCoordinator.RequestNotPending.selector,
                batch[0].commitment.requestId
            )
        );
    }

    function test_fulfill_afterCancel() public {
        Fulfillment[] memory batch = _pending(1);
        vm.warp(batch[0].commitment.deadline + 1);
        coordinator.cancel(batch[0].commitment);
        _expectProvenRejected(
            batch,
            abi.encodeWithSelector(
                ISibylCoordinator.RequestNotPending.selector,
                batch[0].commitment.requestId
            )
        );
    }

    function test_fulfill_afterDeadline() public {
        Fulfillment[] memory batch = _pending(1);
        vm.warp(batch[0].commitment.deadline + 1);
        _expectProvenRejected(
            batch,
            abi.encodeWithSelector(
                ISibylCoordinator.RequestExpired.selector,
                batch[0].commitment.requestId,
                batch[0].commitment.deadline
            )
        );
    }

    function test_fulfill_outputTooLarge() public {
        Fulfillment[] memory batch = _pending(1);
        batch[0].output = new bytes(MAX_OUTPUT + 1);
        _expectProvenRejected(
            batch,
            abi.encodeWithSelector(
                ISibylCoordinator.OutputTooLarge.selector,
                batch[0].commitment.requestId,
                MAX_OUTPUT + 1,
                MAX_OUTPUT
            )
        );
    }

    function test_fulfill_invalidStatus() public {
        Fulfillment[] memory batch = _pending(1);
        batch[0].status = uint8(type(ResultStatus).max) + 1;
        _expectProvenRejected(
            batch,
            abi.encodeWithSelector(
                ISibylCoordinator.InvalidStatus.selector,
                batch[0].commitment.requestId,
                batch[0].status
            )
        );
    }

    function test_fulfill_metadataTooLarge() public {
        Fulfillment[] memory batch = _pending(1);
        uint256 limit = coordinator.MAX_METADATA_BYTES();
        batch[0].metadata = new bytes(limit + 1);
        _expectProvenRejected(
            batch,
            abi.encodeWithSelector(
                ISibylCoordinator.MetadataTooLarge.selector,
                batch[0].commitment.requestId,
                limit + 1,
                limit
            )
        );
        batch[0].metadata = new bytes(limit);
        _fulfill(batch);
        assertEq(coordinator.commitmentOf(batch[0].commitment.requestId), bytes32(0), "at the limit");
    }

    function test_fulfill_rootOutsideTheField() public {
        Fulfillment[] memory batch = _pending(1);
        uint256[8] memory proof;
        uint256 newRoot = SibylEncoding.SNARK_SCALAR_FIELD;
        _expectRejected(
            batch,
            newRoot,
            proof,
            abi.encodeWithSelector(ISibylLog.RootOutOfField.selector, newRoot)
        );
    }

    function test_fulfill_treeFull() public {
        bytes32 nextIndexSlot = _slotOf(log.nextIndex.selector);
        // nextIndex is the log cursor's low 40 bits; keep the rest of the cursor (batch sizes, sequences).
        uint256 packed = uint256(vm.load(address(log), nextIndexSlot));
        vm.store(address(log), nextIndexSlot, bytes32(((packed >> 40) << 40) | (2 ** 32 - 1)));
        assertEq(log.nextIndex(), 2 ** 32 - 1, "slot found");
        _fulfill(_pending(1));
        assertEq(log.nextIndex(), 2 ** 32, "last slot written");
        Fulfillment[] memory batch = _pending(1);
        uint256[8] memory proof;
        _expectRejected(batch, 1, proof, abi.encodeWithSelector(ISibylLog.TreeFull.selector, 2 ** 32, 1));
    }

    function _getterValue(bytes4 getter) internal view returns (uint256) {
        (, bytes memory value) = address(log).staticcall(abi.encodeWithSelector(getter));
        return abi.decode(value, (uint256));
    }

    /// @dev Finds the storage slot holding a public getter's value: the one whose change changes it.
    function _slotOf(bytes4 getter) internal returns (bytes32) {
        uint256 value = _getterValue(getter);
        for (uint256 slot; slot < 32; ++slot) {
            bytes32 original = vm.load(address(log), bytes32(slot));
            vm.store(address(log), bytes32(slot), bytes32(uint256(original) ^ 0xabcdef));
            bool changed = _getterValue(getter) != value;
            vm.store(address(log), bytes32(slot), original);
            if (changed) return bytes32(slot);
        }
        revert AssertionFailed("slot not found");
    }
}
