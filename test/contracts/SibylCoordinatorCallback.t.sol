// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {CallbackOutcome, Fulfillment, RequestCommitment} from "../../contracts/interfaces/SibylTypes.sol";
import {HostileConsumer} from "../../contracts/mocks/HostileConsumer.sol";
import {Delivered, SettlementFixture} from "./utils/SettlementFixture.sol";

/// @notice Consumers that misbehave in their callback cannot block, starve or grief a fulfilment.
contract SibylCoordinatorCallbackTest is SettlementFixture {
    function _outcomeOfLastResult() internal returns (CallbackOutcome) {
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        if (results.length == 0) revert AssertionFailed("no ResultDelivered event");
        return results[results.length - 1].callback;
    }

    function _hostileRequest(
        HostileConsumer.Mode mode,
        uint32 callbackGas
    ) internal returns (Fulfillment memory) {
        HostileConsumer consumer = new HostileConsumer{value: 1 ether}(coordinator, mode);
        vm.recordLogs();
        consumer.ask{value: _escrowNow(callbackGas)}(MODEL_ID, callbackGas);
        RequestCommitment memory commitment = _requested(vm.getRecordedLogs());
        assertEq(commitment.requester, address(consumer), "the consumer asked");
        return _fulfillment(commitment, "answer");
    }

    function _fulfillHostile(HostileConsumer.Mode mode) internal returns (CallbackOutcome, HostileConsumer) {
        Fulfillment memory fulfillment = _hostileRequest(mode, 500_000);
        vm.recordLogs();
        _fulfill(_single(fulfillment));
        assertEq(coordinator.commitmentOf(fulfillment.commitment.requestId), bytes32(0), "fulfilled");
        return (_outcomeOfLastResult(), HostileConsumer(fulfillment.commitment.requester));
    }

    function test_callback_revertingConsumerIsRecorded() public {
        (CallbackOutcome outcome, ) = _fulfillHostile(HostileConsumer.Mode.Revert);
        assertTrue(outcome == CallbackOutcome.Failed, "failed callback recorded");
    }

    function test_callback_gasBurningConsumerOnlyBurnsItsOwnGas() public {
        (CallbackOutcome outcome, ) = _fulfillHostile(HostileConsumer.Mode.BurnGas);
        assertTrue(outcome == CallbackOutcome.Failed, "out-of-gas recorded");
    }

    function test_callback_returnBombIsNotCopied() public {
        Fulfillment memory fulfillment = _hostileRequest(HostileConsumer.Mode.ReturnBomb, 500_000);
        (uint256 newRoot, uint256[8] memory proof) = _prove(_single(fulfillment));
        vm.recordLogs();
        uint256 gasBefore = gasleft();
        vm.prank(operator);
        coordinator.fulfill(_single(fulfillment), newRoot, proof);
        uint256 used = gasBefore - gasleft();
        // Copying the 1 MB return would cost far more than the callback's own 500k gas.
        assertTrue(used < 700_000, "return data not copied");
        assertTrue(_outcomeOfLastResult() == CallbackOutcome.Failed, "the bomb ran out of its own gas");
    }

    function test_callback_reentryIntoFulfillFails() public {
        (CallbackOutcome outcome, HostileConsumer consumer) = _fulfillHostile(
            HostileConsumer.Mode.ReenterFulfill
        );
        assertTrue(outcome == CallbackOutcome.Succeeded, "callback itself returned");
        assertTrue(!consumer.reentrySucceeded(), "nested fulfill blocked");
    }

    function test_callback_reentryIntoCancelFails() public {
        (CallbackOutcome outcome, HostileConsumer consumer) = _fulfillHostile(
            HostileConsumer.Mode.ReenterCancel
        );
        assertTrue(outcome == CallbackOutcome.Succeeded, "callback itself returned");
        assertTrue(!consumer.reentrySucceeded(), "nested cancel rejected");
    }

    function test_callback_newRequestFromCallbackIsAllowed() public {
        uint256 nextId = coordinator.nextRequestId();
        (CallbackOutcome outcome, HostileConsumer consumer) = _fulfillHostile(
            HostileConsumer.Mode.ReenterRequest
        );
        assertTrue(outcome == CallbackOutcome.Succeeded, "callback returned");
        assertTrue(consumer.reentrySucceeded(), "a consumer may chain a request");
        assertEq(coordinator.nextRequestId(), nextId + 2, "chained request made");
    }

    function test_callback_consumerGetsExactlyItsGasOrTheBatchReverts() public {
        Fulfillment memory fulfillment = _hostileRequest(HostileConsumer.Mode.BurnGas, 1_000_000);
        (uint256 newRoot, uint256[8] memory proof) = _prove(_single(fulfillment));
        vm.prank(operator);
        (bool success, bytes memory err) = address(coordinator).call{gas: 900_000}(
            abi.encodeCall(ISibylCoordinator.fulfill, (_single(fulfillment), newRoot, proof))
        );
        assertTrue(!success, "starved fulfilment reverts");
        assertEq(
            bytes4(err),
            ISibylCoordinator.InsufficientGasForCallback.selector,
            "names the starved callback"
        );
        assertEq(
            coordinator.commitmentOf(fulfillment.commitment.requestId),
            keccak256(abi.encode(fulfillment.commitment)),
            "still pending"
        );
    }

    function test_callback_eoaRequesterIsSkipped() public {
        RequestCommitment memory commitment = _request(requester, "hi", 100_000);
        vm.recordLogs();
        _fulfill(_single(_fulfillment(commitment, "ok")));
        assertTrue(_outcomeOfLastResult() == CallbackOutcome.Skipped, "no code, no call");
    }
}
