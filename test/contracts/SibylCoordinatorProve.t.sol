// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "../../contracts/interfaces/ISibylLog.sol";
import {Fulfillment, ResultStatus} from "../../contracts/interfaces/SibylTypes.sol";
import {SibylEncoding} from "../../contracts/libraries/SibylEncoding.sol";
import {PendingLogFixture} from "./utils/PendingLogFixture.sol";
import {Appended, Delivered} from "./utils/SettlementFixture.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice Proving delivered leaves later: anyone may, only the queue's first leaves up to where a
/// delivery ended, and nobody is paid for it (the deliverers were), so a copied prove steals nothing.
contract SibylCoordinatorProveTest is PendingLogFixture {
    address internal stranger = address(0xBEEF);

    /// @dev A proof the mock verifier accepts for `leaves`, so only the queue check can refuse it.
    function _expectProveRejected(uint256[] memory leaves, bytes memory err) internal {
        (uint256 newRoot, uint256[8] memory proof) = _proveLeaves(leaves);
        vm.expectRevert(err);
        vm.prank(stranger);
        log.prove(leaves, newRoot, proof);
    }

    function _mismatch(uint256 first, uint256 count) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(ISibylLog.PendingLeavesMismatch.selector, first, count);
    }

    function _leaves(uint256 a) internal pure returns (uint256[] memory leaves) {
        leaves = new uint256[](1);
        leaves[0] = a;
    }

    function _leaves(uint256 a, uint256 b) internal pure returns (uint256[] memory leaves) {
        leaves = new uint256[](2);
        (leaves[0], leaves[1]) = (a, b);
    }

    /// @dev Every credited balance and the coordinator's ether, to show that a prove moves none.
    function _books() internal view returns (uint256[5] memory books) {
        books = [
            coordinator.balanceOf(operator),
            coordinator.balanceOf(requester),
            coordinator.balanceOf(stranger),
            coordinator.balanceOf(second),
            address(coordinator).balance
        ];
    }

    function _assertBooksUnchanged(uint256[5] memory before, string memory message) internal view {
        uint256[5] memory books = _books();
        for (uint256 i; i < books.length; ++i) assertEq(books[i], before[i], message);
    }

    function test_prove_byAnAccountThatIsNoOperatorMovesTheRootAndCreditsNobody() public {
        _gasPrice(20 gwei, 0);
        Fulfillment[] memory one = _answers(1, "one");
        Fulfillment[] memory two = _answers(2, "two");
        vm.recordLogs();
        _deliver(one);
        _deliver(two);
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        uint256 charged;
        for (uint256 i; i < results.length; ++i) charged += results[i].fee;
        assertEq(coordinator.balanceOf(operator), charged, "the deliverer was paid every fee, proof gas too");
        assertTrue(!ledger.operatorOf(stranger).active, "not an operator");
        uint256 oldRoot = log.root();
        uint256[5] memory before = _books();

        vm.recordLogs();
        uint256 newRoot = _provePending(3, stranger);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        Appended memory batch = _appended(logs);
        assertEq(batch.prover, stranger, "prover");
        assertEq(batch.oldRoot, oldRoot, "old root");
        assertEq(batch.newRoot, newRoot, "new root");
        assertEq(batch.startIndex, 0, "start index");
        assertEq(batch.batchSize, 4, "the smallest verifier that fits");
        assertEq(batch.count, 3, "count");
        assertEq(batch.firstSequence, 0, "first sequence");
        assertEq(log.root(), newRoot, "root moved");
        assertEq(log.nextIndex(), 4, "a subtree of 4");
        _assertQueue(3, 3, bytes32(uint256(3)), bytes32(uint256(3)));
        _assertBooksUnchanged(before, "a prove credits and charges nobody");
        for (uint256 i; i < logs.length; ++i) {
            assertTrue(
                logs[i].topics[0] != ISibylCoordinator.BalanceCredited.selector,
                "no BalanceCredited in a prove"
            );
        }
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.NothingToWithdraw.selector, stranger));
        vm.prank(stranger);
        coordinator.withdraw();
    }

    function test_prove_prefixEndingWhereADeliveryEndedMovesOnlyTheQueue() public {
        _gasPrice(10 gwei, 0);
        uint256[] memory first = _deliver(_answers(1, "first"));
        _gasPrice(30 gwei, 0);
        uint256[] memory middle = _deliver(_answers(2, "middle"));
        _gasPrice(10 gwei, 0);
        uint256[] memory last = _deliver(_answers(1, "last"));
        uint256[5] memory before = _books();

        _provePending(1, stranger);
        bytes32 afterFirst = _chain(bytes32(0), first);
        bytes32 tail = _chain(afterFirst, _concat(middle, last));
        _assertQueue(1, 4, afterFirst, tail);
        _provePending(2, second);
        _assertQueue(3, 4, _chain(afterFirst, middle), tail);
        _provePending(1, operator);
        _assertQueue(4, 4, bytes32(uint256(4)), bytes32(uint256(4)));
        _assertBooksUnchanged(before, "three proofs by three accounts credit nobody");
    }

    /// @dev A prove transaction copied from the mempool and sent after the original landed: the queue
    /// has moved on, so it reverts, and there was nothing to gain anyway.
    function test_prove_copySentAfterTheOriginalRevertsAndGainsNothing() public {
        _deliver(_answers(1, "first"));
        uint256[] memory next = _deliver(_answers(1, "next"));
        uint256[] memory leaves = _firstPending(1);
        (uint256 newRoot, uint256[8] memory proof) = _proveLeaves(leaves);
        uint256[5] memory before = _books();
        vm.prank(second);
        log.prove(leaves, newRoot, proof);

        // The next leaf is pending, so the copy is checked against the queue, not found empty.
        vm.expectRevert(_mismatch(1, 1));
        vm.prank(stranger);
        log.prove(leaves, newRoot, proof);
        _assertBooksUnchanged(before, "neither the original nor its copy is paid");
        assertEq(log.root(), newRoot, "the original's root stands");
        _assertQueue(1, 2, _chain(bytes32(0), leaves), _chain(_chain(bytes32(0), leaves), next));
    }

    /// @dev A copy that front-runs the original lands in its place: it does the original's work (the
    /// root moves the same) and earns nothing for it; the original then reverts.
    function test_prove_copyThatFrontRunsTheOriginalGainsItsSenderNothing() public {
        uint256[] memory leaves = _deliver(_answers(2, "pair"));
        (uint256 newRoot, uint256[8] memory proof) = _proveLeaves(leaves);
        uint256[5] memory before = _books();
        vm.recordLogs();
        vm.prank(stranger);
        log.prove(leaves, newRoot, proof);
        assertEq(_appended(vm.getRecordedLogs()).prover, stranger, "the copy landed first");
        assertEq(log.root(), newRoot, "with the original's root");
        _assertQueue(2, 2, bytes32(uint256(2)), bytes32(uint256(2)));

        vm.expectRevert(abi.encodeWithSelector(ISibylLog.NotPendingLeaves.selector, 2, 2, 0));
        vm.prank(second);
        log.prove(leaves, newRoot, proof);
        _assertBooksUnchanged(before, "the copier gained nothing, the original lost nothing");
    }

    function test_prove_prefixEndingInsideADeliveryIsRejected() public {
        uint256[] memory pair = _deliver(_answers(2, "pair"));
        uint256[] memory triple = _deliver(_answers(3, "triple"));
        _expectProveRejected(_leaves(pair[0]), _mismatch(0, 1));
        _expectProveRejected(_concat(pair, _leaves(triple[0])), _mismatch(0, 3));
        _expectProveRejected(_concat(pair, _leaves(triple[0], triple[1])), _mismatch(0, 4));
        _provePending(2, stranger);
        _expectProveRejected(_leaves(triple[0]), _mismatch(2, 1));
        _expectProveRejected(_leaves(triple[0], triple[1]), _mismatch(2, 2));
        _provePending(3, stranger);
        _assertQueue(5, 5, bytes32(uint256(5)), bytes32(uint256(5)));
    }

    function test_prove_wrongOrReorderedLeavesAreRejected() public {
        Fulfillment[] memory answers = _answers(2, "ab");
        uint256 a = _deliver(_single(answers[0]))[0];
        uint256 b = _deliver(_single(answers[1]))[0];
        _expectProveRejected(_leaves(b, a), _mismatch(0, 2));
        _expectProveRejected(_leaves(a, a), _mismatch(0, 2));
        _expectProveRejected(_leaves(b), _mismatch(0, 1));
        _expectProveRejected(_leaves(a + 1), _mismatch(0, 1));
        // The same answer bound to another operator is another leaf.
        _expectProveRejected(_leaves(_leafBy(answers[0], second)), _mismatch(0, 1));
        Fulfillment memory altered = answers[0];
        altered.status = uint8(ResultStatus.ModelError);
        _expectProveRejected(_leaves(_leaf(altered)), _mismatch(0, 1));
        _assertQueue(0, 2, bytes32(0), _chain(bytes32(0), _leaves(a, b)));
        _provePending(2, stranger);
    }

    function test_prove_noLeavesOrMoreThanPendingAreRejected() public {
        uint256[8] memory proof;
        vm.expectRevert(abi.encodeWithSelector(ISibylLog.NotPendingLeaves.selector, 0, 1, 0));
        log.prove(_leaves(1), 1, proof);
        uint256[] memory pair = _deliver(_answers(2, "pair"));
        vm.expectRevert(abi.encodeWithSelector(ISibylLog.NotPendingLeaves.selector, 0, 0, 2));
        log.prove(new uint256[](0), 1, proof);
        _expectProveRejected(
            _concat(pair, _leaves(7)),
            abi.encodeWithSelector(ISibylLog.NotPendingLeaves.selector, 0, 3, 2)
        );
        _provePending(2, stranger);
        _expectProveRejected(pair, abi.encodeWithSelector(ISibylLog.NotPendingLeaves.selector, 2, 2, 0));
    }

    function test_prove_invalidProofOrRootIsRejected() public {
        uint256[] memory leaves = _deliver(_answers(1, "one"));
        (uint256 newRoot, uint256[8] memory proof) = _proveLeaves(leaves);
        uint256 root = log.root();
        proof[0] ^= 1;
        vm.expectRevert(abi.encodeWithSelector(ISibylLog.InvalidProof.selector, root, newRoot, 0, 1));
        log.prove(leaves, newRoot, proof);
        proof[0] ^= 1;
        vm.expectRevert(abi.encodeWithSelector(ISibylLog.InvalidProof.selector, root, newRoot + 1, 0, 1));
        log.prove(leaves, newRoot + 1, proof);
        uint256 outside = SibylEncoding.SNARK_SCALAR_FIELD;
        vm.expectRevert(abi.encodeWithSelector(ISibylLog.RootOutOfField.selector, outside));
        log.prove(leaves, outside, proof);
        _assertQueue(0, 1, bytes32(0), _chain(bytes32(0), leaves));
        log.prove(leaves, newRoot, proof);
        assertEq(log.root(), newRoot, "the right proof goes through");
    }

    function test_prove_chainRestartsOnceTheQueueEmpties() public {
        uint256[] memory first = _deliver(_answers(1, "first"));
        _assertQueue(0, 1, bytes32(0), _chain(bytes32(0), first));
        _provePending(1, stranger);
        _assertQueue(1, 1, bytes32(uint256(1)), bytes32(uint256(1)));

        uint256[] memory again = _deliver(_answers(2, "again"));
        _assertQueue(1, 3, bytes32(uint256(1)), _chain(bytes32(uint256(1)), again));
        vm.recordLogs();
        _provePending(2, stranger);
        Appended memory batch = _appended(vm.getRecordedLogs());
        assertEq(batch.firstSequence, 1, "continues at sequence 1");
        assertEq(batch.startIndex, 4, "aligned after the first subtree");
        _assertQueue(3, 3, bytes32(uint256(3)), bytes32(uint256(3)));
    }

    /// @dev An indexer with only the events places each result at startIndex + (sequence −
    /// firstSequence) of the BatchAppended covering it, and arrives at the statement that was proven.
    function test_prove_eventsPlaceEachResultAtStartIndexPlusItsSequenceOffset() public {
        _fulfill(_answers(1, "fulfilled"));
        Fulfillment[] memory pair = _answers(2, "pair");
        Fulfillment[] memory one = _answers(1, "one");
        vm.recordLogs();
        _deliver(pair);
        _deliver(one);
        Vm.Log[] memory deliveries = vm.getRecordedLogs();
        uint256[] memory leaves = _firstPending(3);
        (uint256 newRoot, uint256[8] memory proof) = _proveLeaves(leaves);
        vm.recordLogs();
        vm.prank(stranger);
        log.prove(leaves, newRoot, proof);
        Appended memory batch = _appended(vm.getRecordedLogs());
        assertEq(batch.firstSequence, 1, "after the fulfilled result");
        assertEq(batch.startIndex, 4, "next aligned subtree of 4");

        uint256[] memory signals = new uint256[](3 + batch.batchSize);
        (signals[0], signals[1], signals[2]) = (batch.oldRoot, batch.newRoot, batch.startIndex);
        uint256 placed;
        for (uint256 i; i < deliveries.length; ++i) {
            if (deliveries[i].topics[0] != ISibylCoordinator.ResultDelivered.selector) continue;
            (uint256 sequence, uint256 leaf) = _leafFromEvent(deliveries[i]);
            uint256 index = batch.startIndex + (sequence - batch.firstSequence);
            signals[3 + index - batch.startIndex] = leaf;
            ++placed;
        }
        assertEq(placed, batch.count, "one event per proven result");
        assertEq(
            keccak256(abi.encode(mockVerifiers[batch.batchSize].proofFor(signals))),
            keccak256(abi.encode(proof)),
            "the rebuilt statement is the proven one"
        );
    }

    function test_fulfill_afterDeliverAndProveContinuesTheSequence() public {
        _deliver(_answers(1, "delivered"));
        _provePending(1, stranger);
        vm.recordLogs();
        _fulfill(_answers(2, "fulfilled"));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        Delivered[] memory results = _delivered(logs);
        assertEq(results[0].sequence, 1, "after the delivered one");
        assertEq(results[1].sequence, 2, "in order");
        Appended memory batch = _appended(logs);
        assertEq(batch.firstSequence, 1, "the batch covers them");
        assertEq(batch.prover, operator, "fulfil proves its own");
        _assertQueue(3, 3, bytes32(uint256(3)), bytes32(uint256(3)));

        vm.recordLogs();
        uint256[] memory next = _deliver(_answers(1, "delivered again"));
        assertEq(_delivered(vm.getRecordedLogs())[0].sequence, 3, "deliveries continue the same count");
        _assertQueue(3, 4, bytes32(uint256(3)), _chain(bytes32(uint256(3)), next));
        _provePending(1, stranger);
        assertEq(log.nextIndex(), 9, "1 at 0, a subtree of 4 at 4, 1 at 8");
    }

    /// @dev The sequence a ResultDelivered reports and the leaf it lets anyone recompute.
    function _leafFromEvent(Vm.Log memory log) internal pure returns (uint256 sequence, uint256 leaf) {
        ResultStatus status;
        bytes32 inputHash;
        bytes memory output;
        bytes memory metadata;
        (sequence, status, , , inputHash, output, metadata) = abi.decode(
            log.data,
            (uint256, ResultStatus, uint8, uint256, bytes32, bytes, bytes)
        );
        leaf = SibylEncoding.leafOf(
            uint256(log.topics[1]),
            log.topics[2],
            inputHash,
            keccak256(output),
            keccak256(metadata),
            uint8(status),
            address(uint160(uint256(log.topics[3])))
        );
    }
}
