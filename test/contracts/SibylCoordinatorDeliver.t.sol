// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {CallbackOutcome, Fulfillment, RequestCommitment} from "../../contracts/interfaces/SibylTypes.sol";
import {SibylEncoding} from "../../contracts/libraries/SibylEncoding.sol";
import {HostileConsumer} from "../../contracts/mocks/HostileConsumer.sol";
import {ReenteringConsumer} from "./utils/ReenteringConsumer.sol";
import {PendingLogFixture} from "./utils/PendingLogFixture.sol";
import {Delivered} from "./utils/SettlementFixture.sol";

/// @notice Delivery without a proof: each result is checked, charged and called back at once, and its
/// leaf joins a bounded, hash-chained queue that a later proof must match.
contract SibylCoordinatorDeliverTest is PendingLogFixture {
    function test_deliver_loneResultCallsBackChargesAndQueuesItsLeaf() public {
        _gasPrice(10 gwei, 1 gwei);
        HostileConsumer consumer = new HostileConsumer(coordinator, HostileConsumer.Mode.Accept);
        vm.recordLogs();
        consumer.ask{value: _escrowNow(100_000)}(MODEL_ID, 100_000);
        RequestCommitment memory commitment = _requested(vm.getRecordedLogs());
        uint256 rootBefore = coordinator.root();

        vm.recordLogs();
        uint256[] memory leaves = _deliver(_single(_fulfillment(commitment, "answer")));
        Delivered[] memory results = _delivered(vm.getRecordedLogs());

        assertEq(results.length, 1, "one result");
        assertEq(results[0].sequence, 0, "the log's first result");
        assertTrue(results[0].callback == CallbackOutcome.Succeeded, "the consumer got its answer at once");
        assertEq(coordinator.commitmentOf(commitment.requestId), bytes32(0), "retired");
        assertEq(coordinator.root(), rootBefore, "no proof, no root move");
        assertEq(coordinator.nextIndex(), 0, "nothing in the tree yet");
        _assertQueue(0, 1, bytes32(0), _chain(bytes32(0), leaves));

        uint256 price = 11 gwei;
        uint256 reserve = _reserve();
        assertEq(reserve, PROOF_GAS_PER_LEAF * price, "the leaf's proof gas at the price paid, held");
        uint256 fee = results[0].fee;
        assertTrue(fee < commitment.escrow, "below the escrow");
        uint256 gasCharged = (fee - MODEL_FEE - reserve) / price;
        assertEq(
            MODEL_FEE + reserve + gasCharged * price,
            fee,
            "model fee + proof gas + measured gas, at the price"
        );
        assertTrue(gasCharged > 21_000 && gasCharged < 100_000 + DELIVERY_GAS, "a lone delivery's gas");
        assertEq(
            coordinator.balanceOf(operator),
            fee - reserve,
            "the operator earns the fee less the reserve"
        );
        assertEq(coordinator.balanceOf(address(this)), commitment.escrow - fee, "the rest refunded");
        assertEq(
            address(coordinator).balance,
            coordinator.balanceOf(operator) + coordinator.balanceOf(address(this)) + MIN_STAKE + reserve,
            "every wei is a balance, a stake or the reserve"
        );
    }

    function test_deliver_chargeCappedByTheEscrowHoldsTheReserveFirst() public {
        _gasPrice(0, 0);
        RequestCommitment memory commitment = _request(requester, "cheap when asked", 0);
        // The base fee jumps before delivery: the measured charge is far above the escrow.
        _gasPrice(100 gwei, 0);
        vm.recordLogs();
        _deliver(_single(_fulfillment(commitment, "answer")));
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        assertEq(results[0].fee, commitment.escrow, "capped by the escrow");
        assertEq(_reserve(), uint256(PROOF_GAS_PER_LEAF) * 100 gwei, "the proof's share is held first");
        assertEq(
            coordinator.balanceOf(operator),
            commitment.escrow - _reserve(),
            "the operator gets the rest"
        );
        assertEq(coordinator.balanceOf(requester), 0, "nothing left to refund");
    }

    function test_deliver_resultsTakeConsecutiveSequencesAndChainInOrder() public {
        _gasPrice(3 gwei, 0);
        Fulfillment[] memory first = _answers(3, "first");
        Fulfillment[] memory then = _answers(2, "then");
        vm.recordLogs();
        uint256[] memory leaves = _concat(_deliver(first), _deliver(then));
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        assertEq(results.length, 5, "five results");
        for (uint256 i; i < 5; ++i) {
            assertEq(results[i].sequence, i, "sequence in delivery order");
            assertEq(results[i].requestId, (i < 3 ? first[i] : then[i - 3]).commitment.requestId, "request");
        }
        _assertQueue(0, 5, bytes32(0), _chain(bytes32(0), leaves));
        assertEq(_reserve(), 5 * uint256(PROOF_GAS_PER_LEAF) * 3 gwei, "each leaf holds its proof gas");
    }

    function test_fulfill_revertsWhileLeavesArePending() public {
        _deliver(_answers(1, "delivered"));
        Fulfillment[] memory batch = _answers(1, "proven at once");
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.UnprovenLeavesPending.selector, 0, 1));
        vm.prank(operator);
        coordinator.fulfill(batch, newRoot, proof);
        assertEq(
            coordinator.commitmentOf(batch[0].commitment.requestId),
            keccak256(abi.encode(batch[0].commitment)),
            "still pending"
        );
    }

    function test_deliver_pastTheBoundRevertsUntilAProveMakesRoom() public {
        uint256 bound_ = coordinator.MAX_PENDING_LEAVES();
        assertEq(bound_, 128, "the bound");
        _deliver(_answers(64, "a"));
        _deliver(_answers(63, "b"));
        Fulfillment[] memory burst = _answers(2, "c");
        _expectDeliverRejected(
            burst,
            operator,
            abi.encodeWithSelector(ISibylCoordinator.TooManyPendingLeaves.selector, 127, 2, bound_)
        );
        _deliver(_single(burst[0]));
        Fulfillment[] memory last = _single(burst[1]);
        _expectDeliverRejected(
            last,
            operator,
            abi.encodeWithSelector(ISibylCoordinator.TooManyPendingLeaves.selector, 128, 1, bound_)
        );
        assertEq(
            coordinator.commitmentOf(last[0].commitment.requestId),
            keccak256(abi.encode(last[0].commitment)),
            "back-pressure loses nothing: the request is still pending"
        );

        _provePending(64, second);
        _deliver(last);
        (uint256 proven, uint256 delivered, , , ) = coordinator.pendingLog();
        assertEq(proven, 64, "the first delivery proven");
        assertEq(delivered, 129, "the rejected result delivered once there was room");
        // No proof spans more than the largest batch size: the rest goes in two, at delivery ends.
        _provePending(64, second);
        _provePending(1, second);
        assertEq(coordinator.nextIndex(), 64 + 64 + 1, "every delivered leaf in the tree");
    }

    function test_deliver_noneOrMoreThanTheLargestBatchSizeReverts() public {
        _expectDeliverRejected(
            new Fulfillment[](0),
            operator,
            abi.encodeWithSelector(ISibylCoordinator.UnsupportedBatchSize.selector, 0)
        );
        Fulfillment[] memory batch = _answers(65, "too many");
        _expectDeliverRejected(
            batch,
            operator,
            abi.encodeWithSelector(ISibylCoordinator.UnsupportedBatchSize.selector, 65)
        );
        // Without a 64 verifier no proof could cover a delivery of 17 at once.
        coordinator.setVerifier(64, address(0));
        Fulfillment[] memory seventeen = new Fulfillment[](17);
        for (uint256 i; i < 17; ++i) seventeen[i] = batch[i];
        _expectDeliverRejected(
            seventeen,
            operator,
            abi.encodeWithSelector(ISibylCoordinator.UnsupportedBatchSize.selector, 17)
        );
        Fulfillment[] memory sixteen = new Fulfillment[](16);
        for (uint256 i; i < 16; ++i) sixteen[i] = batch[i];
        _deliver(sixteen);
        _provePending(16, second);
        assertEq(coordinator.nextIndex(), 16, "the largest remaining size proves it");
    }

    function test_deliver_copyByAnotherOperatorInsideTheWindowReverts() public {
        _registerOperator(second);
        RequestCommitment memory commitment = _requestAssignedTo(operator);
        Fulfillment[] memory batch = _single(_fulfillment(commitment, "answer"));
        _expectDeliverRejected(
            batch,
            second,
            abi.encodeWithSelector(
                ISibylCoordinator.NotAssignedOperator.selector,
                commitment.requestId,
                operator,
                commitment.exclusiveUntil
            )
        );
        (, uint256 delivered, , , ) = coordinator.pendingLog();
        assertEq(delivered, 0, "nothing queued");
        uint256[] memory leaves = _deliver(batch);
        _assertQueue(0, 1, bytes32(0), _chain(bytes32(0), leaves));
    }

    function test_deliver_callbackReenteringProveIsRefusedAndTheQueueStaysWhole() public {
        _gasPrice(1 gwei, 0);
        uint256[] memory first = _deliver(_answers(1, "first"));
        ReenteringConsumer consumer = new ReenteringConsumer(coordinator);
        // A proof that would succeed on its own: only the re-entry stands in its way.
        (uint256 newRoot, uint256[8] memory proof) = _proveLeaves(first);
        consumer.arm(abi.encodeCall(ISibylCoordinator.prove, (first, newRoot, proof)), false);
        vm.recordLogs();
        consumer.ask{value: _escrowNow(200_000)}(MODEL_ID, 200_000);
        RequestCommitment memory commitment = _requested(vm.getRecordedLogs());

        vm.recordLogs();
        uint256[] memory outer = _deliver(_single(_fulfillment(commitment, "answer")));
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        assertTrue(results[0].callback == CallbackOutcome.Succeeded, "the callback itself returned");
        assertTrue(!consumer.reentrySucceeded(), "the nested prove failed");
        assertEq(
            bytes32(bytes4(consumer.reentryError())),
            bytes32(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector),
            "refused for re-entering"
        );
        assertEq(coordinator.root(), SibylEncoding.EMPTY_ROOT, "root unmoved");
        _assertQueue(0, 2, bytes32(0), _chain(bytes32(0), _concat(first, outer)));
        assertEq(_reserve(), 2 * uint256(PROOF_GAS_PER_LEAF) * 1 gwei, "both reserves held");

        _provePending(2, second);
        assertEq(
            coordinator.balanceOf(second),
            2 * uint256(PROOF_GAS_PER_LEAF) * 1 gwei,
            "a later prove gets both"
        );
    }

    function test_deliver_callbackReenteringDeliverFailsOnlyTheCallback() public {
        ReenteringConsumer consumer = new ReenteringConsumer(coordinator);
        // Staked, so a nested deliver fails only for re-entering.
        consumer.registerOperator{value: MIN_STAKE}();
        RequestCommitment memory other = _request(requester, "other", 0);
        vm.recordLogs();
        consumer.ask{value: _escrowNow(300_000)}(MODEL_ID, 300_000);
        RequestCommitment memory asked = _requested(vm.getRecordedLogs());
        vm.warp(asked.exclusiveUntil + 1);
        Fulfillment[] memory nested = _single(_fulfillment(other, "nested"));
        consumer.arm(abi.encodeCall(ISibylCoordinator.deliver, (nested)), true);

        vm.recordLogs();
        uint256[] memory outer = _deliver(_single(_fulfillment(asked, "answer")));
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        assertEq(results.length, 1, "only the outer result delivered");
        assertTrue(results[0].callback == CallbackOutcome.Failed, "the callback failed with its nested call");
        assertEq(
            coordinator.commitmentOf(other.requestId),
            keccak256(abi.encode(other)),
            "other still pending"
        );
        _assertQueue(0, 1, bytes32(0), _chain(bytes32(0), outer));

        uint256[] memory later = _deliverAs(nested, address(consumer));
        _assertQueue(0, 2, bytes32(0), _chain(bytes32(0), _concat(outer, later)));
        _provePending(2, second);
        _assertQueue(2, 2, bytes32(uint256(2)), bytes32(uint256(2)));
    }
}
