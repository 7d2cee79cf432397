// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SibylCoordinator} from "../../contracts/SibylCoordinator.sol";
import {PromptBoard} from "../../contracts/examples/PromptBoard.sol";
import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "../../contracts/interfaces/ISibylLog.sol";
import {
    CallbackOutcome,
    Fulfillment,
    RequestCommitment,
    ResultStatement,
    ResultStatus
} from "../../contracts/interfaces/SibylTypes.sol";
import {ReenteringConsumer} from "./utils/ReenteringConsumer.sol";
import {Delivered} from "./utils/SettlementFixture.sol";
import {UpgradeFixture} from "./utils/UpgradeFixture.sol";

/// @notice A coordinator upgrade: v2 authorized beside v1 on the same log and ledger. v1 takes no new
/// requests, finishes (or, once revoked, refunds) the ones it took; the log's sequence and root run on
/// unbroken; stakes, penalties and slashes carry over; a consumer built on the log follows the switch.
contract SibylUpgradeTest is UpgradeFixture {
    uint256 internal constant SIGNER_KEY = 0x51647E;
    address internal signer;
    address internal alice = address(0xA11CE);
    address internal reporter = address(0x5E1F);

    function setUp() public override {
        super.setUp();
        signer = vm.addr(SIGNER_KEY);
        _registerOperator(second);
        _registerOperator(signer);
        vm.deal(alice, 10 ether);
    }

    function _retired(address successor) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(ISibylCoordinator.RetiredCoordinator.selector, successor);
    }

    function _notCoordinator(address account) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(ISibylLog.NotCoordinator.selector, account);
    }

    function _notPending(uint256 requestId) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(ISibylCoordinator.RequestNotPending.selector, requestId);
    }

    // ─── A retired v1 ──────────────────────────────────────────────────────────────────────────────

    function test_retired_takesNoNewRequests() public {
        _requestOn(v1, operator);
        _switchToV2();
        assertEq(v1.successor(), address(v2), "v1 knows its successor");
        assertEq(log.coordinator(), address(v2), "the log names v2");
        assertTrue(log.isCoordinator(address(v1)) && log.isCoordinator(address(v2)), "both may append");
        assertEq(log.coordinators().length, 2, "both listed");
        assertEq(log.coordinators()[0], address(v1), "oldest first");
        // Unpaused, it still refuses: retirement is the log's word, not the owner's switch.
        v1.unpause();
        uint256 escrow = v1.estimateFee(MODEL_ID, 0, block.basefee);
        vm.expectRevert(_retired(address(v2)));
        vm.prank(requester);
        v1.request{value: escrow}(MODEL_ID, "too late", 0, requester);
        assertEq(v1.nextRequestId(), v2.firstRequestId(), "no id taken after the switch");
    }

    /// @dev After the switch v1 delivers the requests it took, and only those; v2 delivers its own.
    function test_retired_deliversOnlyWhatItTook() public {
        RequestCommitment memory a = _requestOn(v1, operator);
        RequestCommitment memory b = _requestOn(v1, operator);
        _switchToV2();
        RequestCommitment memory c = _requestOn(v2, operator);
        assertEq(c.requestId, b.requestId + 1, "ids continue");

        _expectDeliverOnRejected(v1, c, _notPending(c.requestId));
        _expectDeliverOnRejected(v2, a, _notPending(a.requestId));
        _deliverOn(v1, a, "v1 after the switch");
        _proveAllPending();
        _fulfillOn(v1, b, "v1 with a proof");
        _deliverOn(v2, c, "v2");
        _proveAllPending();
        _assertLogUnbroken();
        assertEq(sequences.length, 3, "three results, one log");
    }

    function _expectDeliverOnRejected(
        SibylCoordinator version,
        RequestCommitment memory commitment,
        bytes memory err
    ) internal {
        _use(version);
        _expectDeliverRejected(_single(_fulfillment(commitment, "answer")), commitment.operator, err);
    }

    /// @dev Revoked, v1 cannot append or penalize at all; what it still holds is refunded and withdrawn.
    function test_retired_afterRevokeCannotAppendAndItsRequestsAreRefunded() public {
        RequestCommitment memory a = _requestOn(v1, operator);
        _switchToV2();
        vm.expectRevert(abi.encodeWithSelector(ISibylLog.CurrentCoordinator.selector, address(v2)));
        log.revokeCoordinator(address(v2));
        log.revokeCoordinator(address(v1));
        assertTrue(!log.isCoordinator(address(v1)), "v1 may not append");
        assertEq(log.coordinators().length, 2, "still listed: its events and evidence stay readable");
        vm.expectRevert(_notCoordinator(address(v1)));
        log.revokeCoordinator(address(v1));

        _expectDeliverOnRejected(v1, a, _notCoordinator(address(v1)));
        (uint256 newRoot, uint256[8] memory proof) = _prove(_single(_fulfillment(a, "answer")));
        vm.expectRevert(_notCoordinator(address(v1)));
        vm.prank(operator);
        v1.fulfill(_single(_fulfillment(a, "answer")), newRoot, proof);
        // A takeover would penalize the late assignee through the ledger: refused as well.
        vm.warp(a.exclusiveUntil + 1);
        RequestCommitment[] memory late = new RequestCommitment[](1);
        late[0] = a;
        vm.expectRevert(_notCoordinator(address(v1)));
        vm.prank(second);
        v1.reassign(late);
        assertEq(ledger.operatorOf(operator).stake, MIN_STAKE, "no penalty through a revoked coordinator");

        vm.warp(a.deadline + 1);
        v1.cancel(a);
        assertEq(v1.balanceOf(requester), a.escrow, "the whole escrow credited");
        uint256 before = requester.balance;
        vm.prank(requester);
        v1.withdraw();
        assertEq(requester.balance, before + a.escrow, "and withdrawn from v1");
        assertEq(address(v1).balance, 0, "v1 holds nothing more");
        assertEq(log.nextIndex(), 0, "nothing reached the log");
    }

    /// @dev Each version has its own re-entrancy lock: a consumer's callback during v2's delivery can
    /// deliver (as the staked assignee it is) a request of the retired v1. The log stays one queue: v2's
    /// result keeps the sequence it took, v1's nested one the next, both proven together.
    function test_retired_deliveryNestedInASuccessorsCallbackKeepsTheLogWhole() public {
        SibylCoordinator next = _newCoordinator(v1.nextRequestId() + 1_000);
        ReenteringConsumer consumer = new ReenteringConsumer(next);
        vm.deal(address(this), 10 ether);
        consumer.registerOperator{value: MIN_STAKE}(MODEL_ID);
        RequestCommitment memory onV1 = _requestOn(v1, address(consumer));
        v1.pause();
        log.authorizeCoordinator(address(next));
        v2 = next;
        Fulfillment[] memory nested = _single(_fulfillment(onV1, "nested v1"));
        consumer.armAt(address(v1), abi.encodeCall(ISibylCoordinator.deliver, (nested)), true);
        vm.recordLogs();
        consumer.ask{value: _escrowOn(v2, 300_000)}(MODEL_ID, 300_000);
        RequestCommitment memory onV2 = _requested(vm.getRecordedLogs());

        _use(v2);
        vm.recordLogs();
        vm.prank(onV2.operator);
        v2.deliver(_single(_fulfillment(onV2, "outer v2")));
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        assertEq(results.length, 2, "both delivered in one transaction");
        assertEq(results[0].requestId, onV1.requestId, "v1's nested result first in the logs");
        assertEq(results[0].sequence, 1, "with the sequence after v2's");
        assertEq(results[1].requestId, onV2.requestId, "v2's after it");
        assertEq(results[1].sequence, 0, "with the sequence it took first");
        assertTrue(results[1].callback == CallbackOutcome.Succeeded, "the callback succeeded");
        pendingLeaves.push(_leafBy(_fulfillment(onV2, "outer v2"), onV2.operator));
        pendingLeaves.push(_leafBy(nested[0], address(consumer)));
        _provePending(2, address(0xBEEF));
        (uint256 proven, uint256 delivered, , ) = log.pendingLog();
        assertEq(proven, 2, "both proven, in sequence order");
        assertEq(delivered, 2, "nothing else queued");
    }

    function _escrowOn(SibylCoordinator version, uint32 callbackGasLimit) internal view returns (uint256) {
        return version.estimateFee(MODEL_ID, callbackGasLimit, block.basefee);
    }

    // ─── The whole upgrade ─────────────────────────────────────────────────────────────────────────

    function test_upgrade_v1ToV2KeepsTheLogTheStakesAndTheConsumers() public {
        PromptBoard board = new PromptBoard(log, MODEL_ID, 300_000);

        // Before the switch: a result delivered, one of the board's questions and a takeover pending.
        _deliverOn(v1, _requestOn(v1, operator), "v1 before the switch");
        RequestCommitment memory asked = _ask(board, "asked of v1");
        RequestCommitment memory late = _requestOn(v1, operator);
        vm.warp(late.exclusiveUntil + 1);
        RequestCommitment memory taken = _reassignOn(v1, late, second);
        uint256 signedOnV1 = asked.requestId;

        _switchToV2();
        assertEq(address(board.sibylCoordinator()), address(v2), "the board asks v2 now");

        // v1 finishes what it took; the board accepts its callback though v1 is retired.
        _deliverOn(v1, asked, "answered by v1");
        _deliverOn(v1, taken, "taken over on v1");
        _proveAllPending();
        assertTrue(board.entryOf(asked.requestId).answered, "v1's answer reached the board");

        // v2 continues the ids and the log; its penalties burn in the same ledger.
        RequestCommitment memory onV2 = _ask(board, "asked of v2");
        assertEq(onV2.requestId, v1.nextRequestId(), "v2's first id is v1's next");
        _deliverOn(v2, onV2, "answered by v2");
        _proveAllPending();
        assertTrue(board.entryOf(onV2.requestId).answered, "v2's answer reached the board");
        RequestCommitment memory lateOnV2 = _requestOn(v2, operator);
        vm.warp(lateOnV2.exclusiveUntil + 1);
        _fulfillOn(v2, _reassignOn(v2, lateOnV2, second), "taken over on v2");
        assertEq(ledger.burned(), 2 * LIVENESS_PENALTY, "a penalty from each version, one ledger");
        assertEq(ledger.operatorOf(operator).stake, MIN_STAKE - 2 * LIVENESS_PENALTY, "from one stake");
        _assertLogUnbroken();
        assertEq(sequences.length, 5, "five results across both versions");

        // v1's answers are all in the log: revoke it (what it still holds can only be cancelled).
        // Evidence about its requests still slashes.
        log.revokeCoordinator(address(v1));
        _reportEquivocationOn(v1, signedOnV1);
        assertEq(ledger.operatorOf(signer).stake, MIN_STAKE / 2, "slashed for what it signed on v1");
        assertEq(reporter.balance, MIN_STAKE / 2, "its reporter paid");
        assertTrue(!ledger.isActive(signer), "and out of the active set v2 assigns from");

        // Balances earned on v1 stay withdrawable from v1.
        uint256 earned = v1.balanceOf(second);
        assertGe(earned, 1, "the takeover on v1 earned its deliverer");
        vm.prank(second);
        v1.withdraw();
        assertEq(v1.balanceOf(second), 0, "withdrawn");
    }

    /// @dev alice asks `question` on the board, which goes to the current coordinator.
    function _ask(PromptBoard board, string memory question) internal returns (RequestCommitment memory) {
        uint256 fee = board.askFee(block.basefee);
        vm.recordLogs();
        vm.prank(alice);
        board.ask{value: fee}(question);
        return _requested(vm.getRecordedLogs());
    }

    function _reassignOn(
        SibylCoordinator version,
        RequestCommitment memory old,
        address taker
    ) internal returns (RequestCommitment memory) {
        RequestCommitment[] memory list = new RequestCommitment[](1);
        list[0] = old;
        vm.recordLogs();
        vm.prank(taker);
        version.reassign(list);
        RequestCommitment memory taken = old;
        taken.operator = taker;
        taken.exclusiveUntil = uint64(block.timestamp) + EXCLUSIVE_WINDOW;
        assertEq(version.commitmentOf(old.requestId), keccak256(abi.encode(taken)), "taken over");
        return taken;
    }

    /// @dev The signer vouched for two answers to `requestId` of `version`; the reporter proves it.
    function _reportEquivocationOn(SibylCoordinator version, uint256 requestId) internal {
        ResultStatement memory a = ResultStatement(requestId, keccak256("yes"), uint8(ResultStatus.Ok));
        ResultStatement memory b = ResultStatement(requestId, keccak256("no"), uint8(ResultStatus.Ok));
        bytes memory signatureA = _sign(version.statementDigest(a));
        bytes memory signatureB = _sign(version.statementDigest(b));
        vm.prank(reporter);
        ledger.commitEquivocationReport(
            keccak256(abi.encode(reporter, address(version), a, signatureA, b, signatureB))
        );
        vm.roll(block.number + 1);
        vm.prank(reporter);
        ledger.reportEquivocation(address(version), a, signatureA, b, signatureB);
    }

    function _sign(bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SIGNER_KEY, digest);
        return abi.encodePacked(r, s, v);
    }
}
