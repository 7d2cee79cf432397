// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOperatorLedger} from "../../contracts/interfaces/IOperatorLedger.sol";
import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {
    Fulfillment,
    Operator,
    OperatorParameters,
    ResultStatement,
    ResultStatus
} from "../../contracts/interfaces/SibylTypes.sol";
import {QuorumFixture} from "./utils/QuorumFixture.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice An operator that signs two answers to one request loses a share of its stake to whoever
/// proves it, and its place; each test is an attempt to dodge that, to fake it, or to steal the reward.
contract SibylCoordinatorSlashingTest is QuorumFixture {
    uint256 internal constant REQUEST_ID = 7;
    address internal reporter = address(0x5E1F);
    address internal copier = address(0xC0C0);
    /// @dev The block number, kept here: an optimizer may read block.number once for all of a test's
    /// reads (the IR pipeline did), so rolling to block.number + 1 twice might not move.
    uint256 internal height;

    function setUp() public override {
        super.setUp();
        height = block.number;
    }

    function _nextBlock() internal {
        vm.roll(++height);
    }

    /// @dev Two statements about one request and a signature of each.
    struct Evidence {
        ResultStatement a;
        bytes signatureA;
        ResultStatement b;
        bytes signatureB;
    }

    /// @dev signers[`who`] vouching for "yes" and for "no" to request REQUEST_ID.
    function _equivocation(uint256 who) internal view returns (Evidence memory evidence) {
        return _evidence(who, _statement(REQUEST_ID, "yes"), who, _statement(REQUEST_ID, "no"));
    }

    function _evidence(
        uint256 whoA,
        ResultStatement memory a,
        uint256 whoB,
        ResultStatement memory b
    ) internal view returns (Evidence memory) {
        return Evidence(a, _signStatement(keys[whoA], a), b, _signStatement(keys[whoB], b));
    }

    function _statement(
        uint256 requestId,
        bytes memory output
    ) internal pure returns (ResultStatement memory) {
        return ResultStatement(requestId, keccak256(output), uint8(ResultStatus.Ok));
    }

    /// @dev What `by` commits to before reporting `e`, about requests of the fixture's coordinator.
    function _commitment(address by, Evidence memory e) internal view returns (bytes32) {
        return keccak256(abi.encode(by, address(coordinator), e.a, e.signatureA, e.b, e.signatureB));
    }

    function _commit(address by, Evidence memory e) internal {
        vm.prank(by);
        ledger.commitEquivocationReport(_commitment(by, e));
    }

    function _reveal(address by, Evidence memory e) internal {
        vm.prank(by);
        ledger.reportEquivocation(address(coordinator), e.a, e.signatureA, e.b, e.signatureB);
    }

    function _expectRevealRefused(address by, Evidence memory e, bytes memory err) internal {
        vm.expectRevert(err);
        _reveal(by, e);
    }

    /// @dev The whole report: commit, wait a block, reveal.
    function _report(address by, Evidence memory e) internal {
        _commit(by, e);
        _nextBlock();
        _reveal(by, e);
    }

    function _notCommitted(address by, Evidence memory e) internal view returns (bytes memory) {
        return abi.encodeWithSelector(IOperatorLedger.ReportNotCommitted.selector, _commitment(by, e));
    }

    function _notEquivocation(uint256 requestId, address a, address b) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IOperatorLedger.NotEquivocation.selector, requestId, a, b);
    }

    function _alreadySlashed(address who, uint256 requestId) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IOperatorLedger.EquivocationAlreadySlashed.selector, who, requestId);
    }

    function _isActive(address who) internal view returns (bool) {
        address[] memory active = ledger.activeOperators();
        for (uint256 i; i < active.length; ++i) if (active[i] == who) return true;
        return false;
    }

    // ─── Commit, then reveal ───────────────────────────────────────────────────────────────────────

    function test_report_withoutACommitIsRefused() public {
        Evidence memory e = _equivocation(0);
        _expectRevealRefused(reporter, e, _notCommitted(reporter, e));
    }

    function test_report_committedInTheSameBlockIsRefused() public {
        Evidence memory e = _equivocation(0);
        _commit(reporter, e);
        _expectRevealRefused(reporter, e, _notCommitted(reporter, e));
        _nextBlock();
        _reveal(reporter, e);
        assertTrue(!ledger.operatorOf(signers[0]).active, "slashed from the next block");
    }

    /// @dev The commitment names its reporter: another account's commitment is none of yours, and a
    /// commitment someone else sends for you pays you, not them.
    function test_report_committedByAnotherAddressIsRefused() public {
        Evidence memory e = _equivocation(0);
        _commit(copier, e);
        _nextBlock();
        _expectRevealRefused(reporter, e, _notCommitted(reporter, e));

        Evidence memory other = _swapped(e);
        vm.prank(copier);
        ledger.commitEquivocationReport(_commitment(reporter, other));
        _nextBlock();
        _reveal(reporter, other);
        assertEq(reporter.balance, MIN_STAKE / 2, "paid to the reporter it names");
        assertEq(copier.balance, 0, "not to the account that sent it");
    }

    function _swapped(Evidence memory e) internal pure returns (Evidence memory) {
        return Evidence(e.b, e.signatureB, e.a, e.signatureA);
    }

    /// @dev A copier sees the reveal in the mempool and commits and reveals the same evidence ahead of
    /// it in the same block: its reveal is refused, the reporter's goes through, and a later reveal of
    /// the copier's finds the operator slashed.
    function test_report_mempoolCopyOfTheRevealGainsTheCopierNothing() public {
        Evidence memory e = _equivocation(0);
        _commit(reporter, e);
        _nextBlock();
        _commit(copier, e);
        _expectRevealRefused(copier, e, _notCommitted(copier, e));
        _reveal(reporter, e);
        _nextBlock();
        _expectRevealRefused(copier, e, _alreadySlashed(signers[0], REQUEST_ID));
        assertEq(copier.balance, 0, "the copier gained nothing");
        assertEq(reporter.balance, MIN_STAKE / 2, "the reporter got the reward");
    }

    // ─── What is no equivocation ───────────────────────────────────────────────────────────────────

    function _expectNoEquivocation(Evidence memory e, bytes memory err) internal {
        _commit(reporter, e);
        _nextBlock();
        _expectRevealRefused(reporter, e, err);
        assertTrue(ledger.operatorOf(signers[0]).active, "the operator keeps its place");
        assertEq(ledger.operatorOf(signers[0]).stake, MIN_STAKE, "and its stake");
    }

    function test_report_theSameAnswerTwiceIsNoEquivocation() public {
        ResultStatement memory yes = _statement(REQUEST_ID, "yes");
        _expectNoEquivocation(
            _evidence(0, yes, 0, yes),
            _notEquivocation(REQUEST_ID, signers[0], signers[0])
        );
    }

    function test_report_answersToDifferentRequestsAreNoEquivocation() public {
        Evidence memory e = _evidence(0, _statement(REQUEST_ID, "yes"), 0, _statement(REQUEST_ID + 1, "no"));
        _expectNoEquivocation(e, _notEquivocation(REQUEST_ID, signers[0], signers[0]));
    }

    function test_report_answersOfDifferentSignersAreNoEquivocation() public {
        Evidence memory e = _evidence(0, _statement(REQUEST_ID, "yes"), 1, _statement(REQUEST_ID, "no"));
        _expectNoEquivocation(e, _notEquivocation(REQUEST_ID, signers[0], signers[1]));
    }

    /// @dev Invalid or malleated signatures recover to nobody: they cannot frame anyone.
    function test_report_invalidOrMalleatedSignaturesFrameNobody() public {
        Evidence memory e = _equivocation(0);
        e.signatureA = new bytes(65);
        e.signatureB = new bytes(65);
        _expectNoEquivocation(e, _notEquivocation(REQUEST_ID, address(0), address(0)));
        e = _equivocation(0);
        e.signatureB = _malleated(e.signatureB);
        _expectNoEquivocation(e, _notEquivocation(REQUEST_ID, signers[0], address(0)));
    }

    // ─── The slash ─────────────────────────────────────────────────────────────────────────────────

    function test_report_slashesHalfTheStakeToTheReporterAndDeactivates() public {
        uint256 held = address(ledger).balance;
        uint256 coordinatorHeld = address(coordinator).balance;
        Evidence memory e = _equivocation(0);
        _commit(reporter, e);
        _nextBlock();
        vm.recordLogs();
        _reveal(reporter, e);

        uint256 taken = (uint256(MIN_STAKE) * EQUIVOCATION_SLASH_BPS) / 10_000;
        Operator memory slashed = ledger.operatorOf(signers[0]);
        assertEq(slashed.stake, MIN_STAKE - taken, "lost its share");
        assertEq(reporter.balance, taken, "paid to the reporter");
        assertTrue(!slashed.active && !_isActive(signers[0]), "out of the active set");
        assertEq(slashed.unlockAt, block.timestamp + UNBONDING, "its stake locked for an unbonding delay");
        assertEq(address(ledger).balance, held - taken, "the ledger sent the reporter exactly that");
        assertEq(address(coordinator).balance, coordinatorHeld, "the coordinator's ether untouched");
        _assertSlashEvents(vm.getRecordedLogs(), taken, slashed.unlockAt);

        vm.expectRevert(
            abi.encodeWithSelector(IOperatorLedger.StakeLocked.selector, signers[0], slashed.unlockAt)
        );
        vm.prank(signers[0]);
        ledger.withdrawStake();
    }

    function _assertSlashEvents(Vm.Log[] memory logs, uint256 taken, uint64 unlockAt) internal view {
        bool slashedSeen;
        bool deactivatedSeen;
        for (uint256 i; i < logs.length; ++i) {
            bytes32 topic = logs[i].topics[0];
            if (topic == IOperatorLedger.OperatorSlashed.selector) {
                assertEq(address(uint160(uint256(logs[i].topics[1]))), signers[0], "slashed: the signer");
                assertEq(uint256(logs[i].topics[2]), REQUEST_ID, "slashed: the request");
                assertEq(address(uint160(uint256(logs[i].topics[3]))), reporter, "slashed: the reporter");
                assertEq(abi.decode(logs[i].data, (uint256)), taken, "slashed: the amount");
                slashedSeen = true;
            } else if (topic == IOperatorLedger.OperatorDeactivated.selector) {
                assertEq(address(uint160(uint256(logs[i].topics[1]))), signers[0], "deactivated: the signer");
                assertEq(abi.decode(logs[i].data, (uint256)), unlockAt, "deactivated: until");
                deactivatedSeen = true;
            }
        }
        assertTrue(slashedSeen && deactivatedSeen, "OperatorSlashed and OperatorDeactivated emitted");
    }

    /// @dev A slashed operator's signatures stop counting toward any quorum at once.
    function test_report_slashedOperatorNoLongerCosigns() public {
        Fulfillment memory answer = _fulfillment(_requestFor(QUORUM_2, signers[1]), "agreed");
        answer.signatures = _cosign(answer, _indices(0));
        _report(reporter, _equivocation(0));
        _expectDeliverRejected(
            _single(answer),
            signers[1],
            abi.encodeWithSelector(
                ISibylCoordinator.InvalidCosigner.selector,
                answer.commitment.requestId,
                signers[0]
            )
        );
    }

    function test_report_oncePerOperatorAndRequest() public {
        _report(reporter, _equivocation(0));
        uint256 left = ledger.operatorOf(signers[0]).stake;
        Evidence memory again = _evidence(
            0,
            _statement(REQUEST_ID, "maybe"),
            0,
            _statement(REQUEST_ID, "no")
        );
        _commit(copier, again);
        _nextBlock();
        _expectRevealRefused(copier, again, _alreadySlashed(signers[0], REQUEST_ID));
        _commit(reporter, _swapped(_equivocation(0)));
        _nextBlock();
        _expectRevealRefused(reporter, _swapped(_equivocation(0)), _alreadySlashed(signers[0], REQUEST_ID));
        assertEq(ledger.operatorOf(signers[0]).stake, left, "slashed once");

        Evidence memory other = _evidence(
            0,
            _statement(REQUEST_ID + 1, "yes"),
            0,
            _statement(REQUEST_ID + 1, "no")
        );
        _report(copier, other);
        assertEq(ledger.operatorOf(signers[0]).stake, left / 2, "another request, another slash");
        assertEq(copier.balance, left / 2, "to its reporter");
    }

    /// @dev Differing in status alone is two answers as well.
    function test_report_sameOutputDifferentStatusIsEquivocation() public {
        ResultStatement memory ok = _statement(REQUEST_ID, "x");
        ResultStatement memory failed = _statement(REQUEST_ID, "x");
        failed.status = uint8(ResultStatus.NoConsensus);
        _report(reporter, _evidence(0, ok, 0, failed));
        assertTrue(!ledger.operatorOf(signers[0]).active, "slashed");
    }

    // ─── Exiting does not escape it ────────────────────────────────────────────────────────────────

    function test_report_unbondingOperatorIsStillSlashedAndItsUnlockIsNotShortened() public {
        vm.prank(signers[0]);
        ledger.requestOperatorExit();
        uint64 unlockAt = ledger.operatorOf(signers[0]).unlockAt;
        // The owner shortens the delay meanwhile: the slash must not bring the unlock forward.
        OperatorParameters memory parameters = _operatorParameters();
        parameters.unbondingDelay = 1 hours;
        ledger.setOperatorParameters(parameters);
        uint64 slashedAt = unlockAt - 1 days;
        vm.warp(slashedAt);
        _report(reporter, _equivocation(0));
        Operator memory slashed = ledger.operatorOf(signers[0]);
        assertEq(slashed.stake, MIN_STAKE / 2, "slashed while unbonding");
        assertEq(reporter.balance, MIN_STAKE / 2, "the reporter paid");
        assertEq(slashed.unlockAt, unlockAt, "unlock not brought forward");

        // With the delay back, a slash a day before unlocking pushes the unlock a whole delay out.
        ledger.setOperatorParameters(_operatorParameters());
        _report(
            reporter,
            _evidence(0, _statement(REQUEST_ID + 1, "yes"), 0, _statement(REQUEST_ID + 1, "no"))
        );
        assertEq(ledger.operatorOf(signers[0]).unlockAt, slashedAt + UNBONDING, "locked anew");
        vm.warp(unlockAt);
        vm.expectRevert(
            abi.encodeWithSelector(IOperatorLedger.StakeLocked.selector, signers[0], slashedAt + UNBONDING)
        );
        vm.prank(signers[0]);
        ledger.withdrawStake();
    }

    function test_report_afterTheStakeIsWithdrawnThereIsNothingToSlash() public {
        vm.prank(signers[0]);
        ledger.requestOperatorExit();
        vm.warp(ledger.operatorOf(signers[0]).unlockAt);
        vm.prank(signers[0]);
        ledger.withdrawStake();
        Evidence memory e = _equivocation(0);
        _commit(reporter, e);
        _nextBlock();
        _expectRevealRefused(
            reporter,
            e,
            abi.encodeWithSelector(IOperatorLedger.NothingToSlash.selector, signers[0])
        );
    }

    function test_report_signerThatNeverStakedHasNothingToSlash() public {
        uint256 outsiderKey = 0xA11CE;
        ResultStatement memory yes = _statement(REQUEST_ID, "yes");
        ResultStatement memory no = _statement(REQUEST_ID, "no");
        Evidence memory e = Evidence(
            yes,
            _signStatement(outsiderKey, yes),
            no,
            _signStatement(outsiderKey, no)
        );
        _commit(reporter, e);
        _nextBlock();
        _expectRevealRefused(
            reporter,
            e,
            abi.encodeWithSelector(IOperatorLedger.NothingToSlash.selector, vm.addr(outsiderKey))
        );
    }

    // ─── Parameters ────────────────────────────────────────────────────────────────────────────────

    function test_setOperatorParameters_slashShareAboveTheWholeStakeIsRefused() public {
        OperatorParameters memory parameters = _operatorParameters();
        parameters.equivocationSlashBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(IOperatorLedger.SlashShareTooHigh.selector, 10_001));
        ledger.setOperatorParameters(parameters);

        parameters.equivocationSlashBps = 10_000;
        ledger.setOperatorParameters(parameters);
        _report(reporter, _equivocation(0));
        assertEq(ledger.operatorOf(signers[0]).stake, 0, "the whole stake at 100%");
        assertEq(reporter.balance, MIN_STAKE, "all of it to the reporter");
    }

    // ─── Endpoints ─────────────────────────────────────────────────────────────────────────────────

    function test_operatorEndpoint_setReadAndAnnounced() public {
        string memory endpoint = "https://node-a.example:8545/cosign";
        vm.recordLogs();
        vm.prank(signers[0]);
        ledger.setOperatorEndpoint(endpoint);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "one event");
        assertEq(logs[0].topics[0], IOperatorLedger.OperatorEndpointSet.selector, "OperatorEndpointSet");
        assertEq(address(uint160(uint256(logs[0].topics[1]))), signers[0], "its operator");
        assertEq(bytes(abi.decode(logs[0].data, (string))), bytes(endpoint), "its endpoint");
        assertEq(bytes(ledger.operatorEndpoint(signers[0])), bytes(endpoint), "read back");
        assertEq(bytes(ledger.operatorEndpoint(signers[1])), "", "nobody else's changed");

        vm.prank(signers[0]);
        ledger.setOperatorEndpoint("");
        assertEq(bytes(ledger.operatorEndpoint(signers[0])), "", "cleared");
    }

    /// @dev Nodes read every endpoint; an unbounded one would make that read as costly as its writer likes.
    function test_operatorEndpoint_longerThanTheLimitIsRefused() public {
        uint256 limit = ledger.MAX_ENDPOINT_BYTES();
        bytes memory longest = new bytes(limit);
        for (uint256 i; i < limit; ++i) longest[i] = "a";
        vm.prank(signers[0]);
        ledger.setOperatorEndpoint(string(longest));
        vm.expectRevert(abi.encodeWithSelector(IOperatorLedger.EndpointTooLong.selector, limit + 1, limit));
        vm.prank(signers[0]);
        ledger.setOperatorEndpoint(string(bytes.concat(longest, "a")));
        assertEq(bytes(ledger.operatorEndpoint(signers[0])), longest, "the last valid one stays");
    }
}
