// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "../../contracts/interfaces/ISibylLog.sol";
import {CallbackOutcome, Fulfillment, RequestCommitment} from "../../contracts/interfaces/SibylTypes.sol";
import {SibylEncoding} from "../../contracts/libraries/SibylEncoding.sol";
import {HostileConsumer} from "../../contracts/mocks/HostileConsumer.sol";
import {PendingLogFixture} from "./utils/PendingLogFixture.sol";
import {QueueReadingConsumer} from "./utils/QueueReadingConsumer.sol";
import {ReenteringConsumer} from "./utils/ReenteringConsumer.sol";
import {Appended, Delivered} from "./utils/SettlementFixture.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice Delivery without a proof: each result is checked, charged and called back at once, and its
/// leaf joins a bounded, hash-chained queue that a later proof must match.
contract SibylCoordinatorDeliverTest is PendingLogFixture {
    function test_deliver_loneResultCallsBackChargesAndQueuesItsLeaf() public {
        _gasPrice(10 gwei, 1 gwei);
        HostileConsumer consumer = new HostileConsumer(coordinator, HostileConsumer.Mode.Accept);
        vm.recordLogs();
        consumer.ask{value: _escrowNow(100_000)}(MODEL_ID, 100_000);
        RequestCommitment memory commitment = _requested(vm.getRecordedLogs());
        uint256 rootBefore = log.root();

        vm.recordLogs();
        uint256[] memory leaves = _deliver(_single(_fulfillment(commitment, "answer")));
        Delivered[] memory results = _delivered(vm.getRecordedLogs());

        assertEq(results.length, 1, "one result");
        assertEq(results[0].sequence, 0, "the log's first result");
        assertTrue(results[0].callback == CallbackOutcome.Succeeded, "the consumer got its answer at once");
        assertEq(coordinator.commitmentOf(commitment.requestId), bytes32(0), "retired");
        assertEq(log.root(), rootBefore, "no proof, no root move");
        assertEq(log.nextIndex(), 0, "nothing in the tree yet");
        _assertQueue(0, 1, bytes32(0), _chain(bytes32(0), leaves));

        uint256 price = 11 gwei;
        uint256 fee = results[0].fee;
        assertTrue(fee < commitment.escrow, "below the escrow");
        uint256 gasCharged = (fee - MODEL_FEE) / price;
        assertEq(MODEL_FEE + gasCharged * price, fee, "model fee + gas, at the price paid");
        // The measured gas plus the leaf's share of the later proof, both paid to the deliverer.
        assertTrue(
            gasCharged > 21_000 + PROOF_GAS_PER_LEAF &&
                gasCharged < 100_000 + DELIVERY_GAS + PROOF_GAS_PER_LEAF,
            "a lone delivery's gas and its proof's share"
        );
        assertEq(coordinator.balanceOf(operator), fee, "the operator earns the whole fee");
        assertEq(coordinator.balanceOf(address(this)), commitment.escrow - fee, "the rest refunded");
        assertEq(
            address(coordinator).balance,
            coordinator.balanceOf(operator) + coordinator.balanceOf(address(this)),
            "every wei is a balance: nothing held back for a prover"
        );
        assertEq(address(ledger).balance, MIN_STAKE, "the stake stays in the ledger");
    }

    function test_deliver_chargeCappedByTheEscrowGoesWhollyToTheOperator() public {
        _gasPrice(0, 0);
        RequestCommitment memory commitment = _request(requester, "cheap when asked", 0);
        // The base fee jumps before delivery: the measured charge is far above the escrow.
        _gasPrice(100 gwei, 0);
        vm.recordLogs();
        _deliver(_single(_fulfillment(commitment, "answer")));
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        assertEq(results[0].fee, commitment.escrow, "capped by the escrow");
        assertEq(coordinator.balanceOf(operator), commitment.escrow, "the operator gets all of it");
        assertEq(coordinator.balanceOf(requester), 0, "nothing left to refund");
        assertEq(address(coordinator).balance, commitment.escrow, "nothing else held");
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
    }

    function test_fulfill_revertsWhileLeavesArePending() public {
        _deliver(_answers(1, "delivered"));
        Fulfillment[] memory batch = _answers(1, "proven at once");
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        vm.expectRevert(abi.encodeWithSelector(ISibylLog.UnprovenLeavesPending.selector, 0, 1));
        vm.prank(operator);
        coordinator.fulfill(batch, newRoot, proof);
        assertEq(
            coordinator.commitmentOf(batch[0].commitment.requestId),
            keccak256(abi.encode(batch[0].commitment)),
            "still pending"
        );
    }

    function test_deliver_pastTheBoundRevertsUntilAProveMakesRoom() public {
        uint256 bound_ = log.MAX_PENDING_LEAVES();
        assertEq(bound_, 512, "the bound");
        for (uint256 i; i < bound_ / 64 - 1; ++i) _deliver(_answers(64, string(abi.encodePacked("a", i))));
        _deliver(_answers(63, "b"));
        Fulfillment[] memory burst = _answers(2, "c");
        _expectDeliverRejected(
            burst,
            operator,
            abi.encodeWithSelector(ISibylLog.TooManyPendingLeaves.selector, bound_ - 1, 2, bound_)
        );
        _deliver(_single(burst[0]));
        Fulfillment[] memory last = _single(burst[1]);
        _expectDeliverRejected(
            last,
            operator,
            abi.encodeWithSelector(ISibylLog.TooManyPendingLeaves.selector, bound_, 1, bound_)
        );
        assertEq(
            coordinator.commitmentOf(last[0].commitment.requestId),
            keccak256(abi.encode(last[0].commitment)),
            "back-pressure loses nothing: the request is still pending"
        );

        _provePending(64, second);
        _deliver(last);
        (uint256 proven, uint256 delivered, , ) = log.pendingLog();
        assertEq(proven, 64, "the first delivery proven");
        assertEq(delivered, bound_ + 1, "the rejected result delivered once there was room");
        // No proof spans more than the largest batch size: the rest in 64s, then the 63 and the two
        // lone deliveries, each ending where a delivery ended.
        for (uint256 i; i < bound_ / 64 - 2; ++i) _provePending(64, second);
        _provePending(63, second);
        _provePending(2, second);
        _assertQueue(bound_ + 1, bound_ + 1, bytes32(bound_ + 1), bytes32(bound_ + 1));
        assertEq(log.nextIndex(), bound_ + 4, "every delivered leaf in the tree, the last two in a 4");
    }

    function test_deliver_noneOrMoreThanTheLargestBatchSizeReverts() public {
        _expectDeliverRejected(
            new Fulfillment[](0),
            operator,
            abi.encodeWithSelector(ISibylLog.UnsupportedBatchSize.selector, 0)
        );
        Fulfillment[] memory batch = _answers(65, "too many");
        _expectDeliverRejected(
            batch,
            operator,
            abi.encodeWithSelector(ISibylLog.UnsupportedBatchSize.selector, 65)
        );
        // Without a 64 verifier no proof could cover a delivery of 17 at once.
        log.setVerifier(64, address(0));
        Fulfillment[] memory seventeen = new Fulfillment[](17);
        for (uint256 i; i < 17; ++i) seventeen[i] = batch[i];
        _expectDeliverRejected(
            seventeen,
            operator,
            abi.encodeWithSelector(ISibylLog.UnsupportedBatchSize.selector, 17)
        );
        Fulfillment[] memory sixteen = new Fulfillment[](16);
        for (uint256 i; i < 16; ++i) sixteen[i] = batch[i];
        _deliver(sixteen);
        _provePending(16, second);
        assertEq(log.nextIndex(), 16, "the largest remaining size proves it");
    }

    function test_deliver_copyByAnotherOperatorInsideTheWindowReverts() public {
        _registerOperator(second);
        RequestCommitment memory commitment = _requestAssignedTo(operator);
        Fulfillment[] memory batch = _single(_fulfillment(commitment, "answer"));
        _expectDeliverRejected(batch, second, _notAssigned(commitment));
        (, uint256 delivered, , ) = log.pendingLog();
        assertEq(delivered, 0, "nothing queued");
        uint256[] memory leaves = _deliver(batch);
        _assertQueue(0, 1, bytes32(0), _chain(bytes32(0), leaves));
    }

    /// @dev Nothing binds an unproven delivery to its sender, so unlike fulfill, a delivery stays the
    /// assigned operator's after the window: another operator must reassign first or send a proof.
    function test_deliver_copyByAnotherOperatorAfterTheWindowRevertsToo() public {
        _registerOperator(second);
        RequestCommitment memory commitment = _requestAssignedTo(operator);
        Fulfillment[] memory batch = _single(_fulfillment(commitment, "answer"));
        vm.warp(commitment.exclusiveUntil + 1);
        _expectDeliverRejected(batch, second, _notAssigned(commitment));
        vm.warp(commitment.deadline);
        _expectDeliverRejected(batch, second, _notAssigned(commitment));
        assertEq(coordinator.balanceOf(second), 0, "the copier earned nothing");
        assertEq(
            coordinator.commitmentOf(commitment.requestId),
            keccak256(abi.encode(commitment)),
            "still pending"
        );
        // With a proof bound to itself, the other operator may still serve it after the window.
        vm.recordLogs();
        _fulfillAs(batch, second);
        assertEq(
            coordinator.balanceOf(second),
            _feeOf(_delivered(vm.getRecordedLogs()), commitment.requestId),
            "fulfil with proof pays its sender (the late assignee's penalty is burned)"
        );
    }

    function test_deliver_queueTheTreeCouldNotHoldIsRefused() public {
        // A queued leaf may take up to 67 slots when proven (a 4x batch after 63 slots of alignment).
        uint256 start = 2 ** 32 - 2 * 67;
        _setNextIndex(start);
        Fulfillment[] memory three = _answers(3, "near the end");
        _expectDeliverRejected(
            three,
            operator,
            abi.encodeWithSelector(ISibylLog.TreeFull.selector, start, 3)
        );
        Fulfillment[] memory pair = new Fulfillment[](2);
        (pair[0], pair[1]) = (three[0], three[1]);
        uint256[] memory leaves = _deliver(pair);
        Fulfillment[] memory third = _single(three[2]);
        _expectDeliverRejected(
            third,
            operator,
            abi.encodeWithSelector(ISibylLog.TreeFull.selector, start, 3)
        );
        _assertQueue(0, 2, bytes32(0), _chain(bytes32(0), leaves));
        assertEq(
            coordinator.commitmentOf(three[2].commitment.requestId),
            keccak256(abi.encode(three[2].commitment)),
            "the refused request is still pending"
        );
        // Proven as a 4 at the next multiple of 4, the pair took 6 slots, not 134: room again.
        _provePending(2, second);
        assertEq(log.nextIndex(), start + 2 + 4, "aligned, then a 4");
        _deliver(third);
        _provePending(1, second);
        assertEq(log.nextIndex(), start + 7, "the last one fits");
    }

    function test_deliver_consumerSeesItsOwnResultQueuedInItsCallback() public {
        uint256[] memory before = _deliver(_answers(1, "before"));
        QueueReadingConsumer consumer = new QueueReadingConsumer(coordinator);
        vm.recordLogs();
        consumer.ask{value: _escrowNow(200_000)}(MODEL_ID, 200_000);
        RequestCommitment memory commitment = _requested(vm.getRecordedLogs());

        uint256[] memory mine = _deliver(_single(_fulfillment(commitment, "answer")));
        assertEq(consumer.sawProven(), 0, "nothing proven yet");
        assertEq(consumer.sawDelivered(), 2, "its own result already counted");
        assertEq(consumer.sawTail(), _chain(bytes32(0), _concat(before, mine)), "and chained");
        assertEq(consumer.sawRoot(), SibylEncoding.EMPTY_ROOT, "the root waits for the proof");
    }

    function test_fulfill_consumerSeesItsOwnResultProvenInItsCallback() public {
        QueueReadingConsumer consumer = new QueueReadingConsumer(coordinator);
        vm.recordLogs();
        consumer.ask{value: _escrowNow(200_000)}(MODEL_ID, 200_000);
        RequestCommitment memory commitment = _requested(vm.getRecordedLogs());
        uint256 newRoot = _fulfill(_single(_fulfillment(commitment, "answer")));
        assertEq(consumer.sawProven(), 1, "its result proven");
        assertEq(consumer.sawDelivered(), 1, "and delivered");
        assertEq(consumer.sawTail(), bytes32(uint256(1)), "an empty queue");
        assertEq(consumer.sawRoot(), newRoot, "the root already moved");
    }

    /// @dev Proving is anyone's, and the log is not the coordinator: a callback may prove the queue
    /// through the log while its own result is being delivered (the old coordinator refused it as a
    /// re-entry). Only leaves queued before the callback are provable, the queue stays whole, the
    /// delivery stands, and nobody is paid for the proof.
    function test_deliver_callbackProvingThroughTheLogKeepsTheQueueWhole() public {
        _gasPrice(1 gwei, 0);
        uint256[] memory first = _deliver(_answers(1, "first"));
        ReenteringConsumer consumer = new ReenteringConsumer(coordinator);
        (uint256 newRoot, uint256[8] memory proof) = _proveLeaves(first);
        consumer.armAt(address(log), abi.encodeCall(ISibylLog.prove, (first, newRoot, proof)), true);
        vm.recordLogs();
        consumer.ask{value: _escrowNow(200_000)}(MODEL_ID, 200_000);
        RequestCommitment memory commitment = _requested(vm.getRecordedLogs());

        vm.recordLogs();
        uint256[] memory outer = _deliver(_single(_fulfillment(commitment, "answer")));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        Delivered[] memory results = _delivered(logs);
        assertTrue(results[0].callback == CallbackOutcome.Succeeded, "the callback returned");
        assertTrue(consumer.reentrySucceeded(), "its prove went through");
        Appended memory batch = _appended(logs);
        assertEq(batch.firstSequence, 0, "it proved the earlier delivery");
        assertEq(batch.count, 1, "and only that");
        assertEq(batch.prover, address(consumer), "as the consumer");
        assertEq(log.root(), newRoot, "the root moved by the valid proof");
        _dropPending(1);
        _assertQueue(1, 2, _chain(bytes32(0), first), _chain(bytes32(0), _concat(first, outer)));

        uint256 earned = coordinator.balanceOf(operator);
        _provePending(1, second);
        assertEq(coordinator.balanceOf(address(consumer)), 0, "the consumer's prove paid it nothing");
        assertEq(coordinator.balanceOf(second), 0, "a later prove pays its sender nothing");
        assertEq(coordinator.balanceOf(operator), earned, "and takes nothing from the deliverer");
        _assertQueue(2, 2, bytes32(uint256(2)), bytes32(uint256(2)));
    }

    function _notAssigned(RequestCommitment memory commitment) internal pure returns (bytes memory) {
        return
            abi.encodeWithSelector(
                ISibylCoordinator.NotAssignedOperator.selector,
                commitment.requestId,
                commitment.operator,
                commitment.exclusiveUntil
            );
    }

    function test_deliver_callbackReenteringDeliverFailsOnlyTheCallback() public {
        ReenteringConsumer consumer = new ReenteringConsumer(coordinator);
        // Staked, so a nested deliver fails only for re-entering.
        consumer.registerOperator{value: MIN_STAKE}(MODEL_ID);
        // Each delivered by its own assignee, so the nested deliver would succeed on its own.
        RequestCommitment memory other = _requestAssignedTo(address(consumer));
        RequestCommitment memory asked;
        for (uint256 i; asked.operator != operator; ++i) {
            assertTrue(i < 64, "never assigned to the operator");
            vm.recordLogs();
            consumer.ask{value: _escrowNow(300_000)}(MODEL_ID, 300_000);
            asked = _requested(vm.getRecordedLogs());
        }
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
