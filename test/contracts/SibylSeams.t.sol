// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {SibylCoordinator} from "../../contracts/SibylCoordinator.sol";
import {SibylLog} from "../../contracts/SibylLog.sol";
import {IOperatorLedger} from "../../contracts/interfaces/IOperatorLedger.sol";
import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "../../contracts/interfaces/ISibylLog.sol";
import {
    CallbackOutcome,
    RequestCommitment,
    ResultStatement,
    ResultStatus
} from "../../contracts/interfaces/SibylTypes.sol";
import {SibylEncoding} from "../../contracts/libraries/SibylEncoding.sol";
import {MockBatchVerifier} from "../../contracts/mocks/MockBatchVerifier.sol";
import {ImpostorCoordinator} from "./utils/ImpostorCoordinator.sol";
import {PendingLogFixture} from "./utils/PendingLogFixture.sol";
import {ReenteringConsumer} from "./utils/ReenteringConsumer.sol";
import {Delivered} from "./utils/SettlementFixture.sol";

/// @notice Attacks on the seams between the log, the ledger and the coordinators: a contract that
/// claims to be a coordinator, a stranger authorizing itself, coordinators that should not be
/// authorized, and a consumer's callback that calls the log or the ledger.
contract SibylSeamsTest is PendingLogFixture {
    address internal stranger = address(0x5742);
    ImpostorCoordinator internal impostor;

    function setUp() public override {
        super.setUp();
        impostor = new ImpostorCoordinator(log, ledger);
    }

    function _notCoordinator(address account) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(ISibylLog.NotCoordinator.selector, account);
    }

    function _invalidCoordinator(address account) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(ISibylLog.InvalidCoordinator.selector, account);
    }

    function _notOwner(address account) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, account);
    }

    function _oneLeaf() internal pure returns (uint256[] memory leaves) {
        leaves = new uint256[](1);
        leaves[0] = 42;
    }

    function _assertLogUntouched(uint256 root, uint256 delivered) internal view {
        assertEq(log.root(), root, "root unmoved");
        (, uint256 deliveredNow, , ) = log.pendingLog();
        assertEq(deliveredNow, delivered, "sequence unmoved");
    }

    // ─── A contract that claims to be a coordinator ─────────────────────────────────────────────────

    function test_impostor_appendDeliveredIsRefused() public {
        vm.expectRevert(_notCoordinator(address(impostor)));
        impostor.appendDelivered(_oneLeaf());
        vm.expectRevert(_notCoordinator(stranger));
        vm.prank(stranger);
        log.appendDelivered(_oneLeaf());
        _assertLogUntouched(SibylEncoding.EMPTY_ROOT, 0);
    }

    /// @dev Even with a proof the verifier accepts: only authorization stands in the way.
    function test_impostor_appendProvenWithAValidProofIsRefused() public {
        (uint256 newRoot, uint256[8] memory proof) = _proveLeaves(_oneLeaf());
        vm.expectRevert(_notCoordinator(address(impostor)));
        impostor.appendProven(_oneLeaf(), newRoot, proof);
        _assertLogUntouched(SibylEncoding.EMPTY_ROOT, 0);
    }

    function test_impostor_penalizeIsRefused() public {
        vm.expectRevert(_notCoordinator(address(impostor)));
        impostor.penalize(operator, 1);
        vm.expectRevert(_notCoordinator(stranger));
        vm.prank(stranger);
        ledger.penalize(operator, 1);
        assertEq(ledger.operatorOf(operator).stake, MIN_STAKE, "the stake untouched");
        assertEq(ledger.burned(), 0, "nothing burned");
    }

    /// @dev Evidence signed in the domain of a coordinator the log never authorized slashes nobody:
    /// anyone can deploy such a contract and have operators sign for it.
    function test_impostor_equivocationInItsDomainSlashesNobody() public {
        uint256 key = 0x0A11CE;
        address signer = vm.addr(key);
        _registerOperator(signer);
        ResultStatement memory a = ResultStatement(1, keccak256("yes"), uint8(ResultStatus.Ok));
        ResultStatement memory b = ResultStatement(1, keccak256("no"), uint8(ResultStatus.Ok));
        bytes memory signatureA = _sign(key, _statementDigest(address(impostor), a));
        bytes memory signatureB = _sign(key, _statementDigest(address(impostor), b));
        vm.prank(stranger);
        ledger.commitEquivocationReport(
            keccak256(abi.encode(stranger, address(impostor), a, signatureA, b, signatureB))
        );
        vm.roll(block.number + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IOperatorLedger.UnknownCoordinator.selector, address(impostor))
        );
        vm.prank(stranger);
        ledger.reportEquivocation(address(impostor), a, signatureA, b, signatureB);
        assertEq(ledger.operatorOf(signer).stake, MIN_STAKE, "the stake untouched");
        assertTrue(ledger.isActive(signer), "and its place");
    }

    // ─── A stranger authorizing itself ─────────────────────────────────────────────────────────────

    function test_stranger_cannotAuthorizeRevokeOrSetVerifiers() public {
        vm.startPrank(stranger);
        vm.expectRevert(_notOwner(stranger));
        log.authorizeCoordinator(address(impostor));
        vm.expectRevert(_notOwner(stranger));
        log.revokeCoordinator(address(coordinator));
        // A verifier that accepts anything would let any root through.
        MockBatchVerifier lenient = new MockBatchVerifier(1);
        vm.expectRevert(_notOwner(stranger));
        log.setVerifier(1, address(lenient));
        vm.expectRevert(_notOwner(stranger));
        ledger.setOperatorParameters(_operatorParameters());
        vm.expectRevert(_notOwner(stranger));
        log.transferOwnership(stranger);
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.NotLog.selector, stranger));
        coordinator.retire(stranger);
        vm.stopPrank();
        assertEq(log.coordinator(), address(coordinator), "the coordinator is still current");
        assertTrue(!log.isCoordinator(address(impostor)), "the impostor is not authorized");
        assertTrue(log.isCoordinator(address(coordinator)), "nor the coordinator revoked");
        assertEq(address(log.verifierFor(1)), address(mockVerifiers[1]), "the verifier unchanged");
        assertEq(coordinator.successor(), address(0), "the coordinator not retired");
    }

    /// @dev Its own coordinator is no owner of the log either.
    function test_coordinator_cannotAuthorizeAnother() public {
        vm.expectRevert(_notOwner(address(coordinator)));
        vm.prank(address(coordinator));
        log.authorizeCoordinator(address(impostor));
    }

    // ─── Coordinators that must not be authorized ──────────────────────────────────────────────────

    function test_authorize_coordinatorOfAnotherLogIsRefused() public {
        SibylLog otherLog = new SibylLog(address(this));
        SibylCoordinator foreign = new SibylCoordinator(
            address(this),
            otherLog,
            ledger,
            100,
            _feeParameters()
        );
        vm.expectRevert(_invalidCoordinator(address(foreign)));
        log.authorizeCoordinator(address(foreign));
        vm.expectRevert(_invalidCoordinator(stranger));
        log.authorizeCoordinator(stranger);
        vm.expectRevert(_invalidCoordinator(address(coordinator)));
        log.authorizeCoordinator(address(coordinator));
        assertEq(log.coordinator(), address(coordinator), "unchanged");
        assertEq(log.coordinators().length, 1, "none added");
    }

    /// @dev Request ids name one request of the whole deployment: a successor must start after the
    /// last id its predecessor gave.
    function test_authorize_contractWithoutLogIsInvalidCoordinator() public {
        address notACoordinator = address(mockVerifiers[1]);
        vm.expectRevert(abi.encodeWithSelector(ISibylLog.InvalidCoordinator.selector, notACoordinator));
        log.authorizeCoordinator(notACoordinator);
    }

    function test_authorize_successorStartingBelowThePredecessorsNextIdIsRefused() public {
        for (uint256 i; i < 3; ++i) _request(requester, abi.encodePacked("before ", i), 0);
        uint256 next = coordinator.nextRequestId();
        assertEq(next, 4, "three requests taken");
        SibylCoordinator overlapping = _newCoordinator(next - 1);
        vm.expectRevert(_invalidCoordinator(address(overlapping)));
        log.authorizeCoordinator(address(overlapping));
        assertEq(log.coordinator(), address(coordinator), "the predecessor still current");
        assertEq(coordinator.successor(), address(0), "and not retired");
        _request(requester, "still taken", 0);

        SibylCoordinator successor = _newCoordinator(coordinator.nextRequestId());
        log.authorizeCoordinator(address(successor));
        assertEq(log.coordinator(), address(successor), "a successor starting after it is");
    }

    // ─── A consumer's callback that calls the log or the ledger ────────────────────────────────────

    /// @dev Delivers a request of a consumer whose callback makes `call` to `target`, failing with it
    /// when `bubble`; returns the callback's outcome and checks the delivery itself stood.
    function _deliverCalling(
        address target,
        bytes memory call,
        bool bubble
    ) internal returns (ReenteringConsumer consumer, CallbackOutcome outcome) {
        consumer = new ReenteringConsumer(coordinator);
        consumer.armAt(target, call, bubble);
        vm.recordLogs();
        consumer.ask{value: _escrowNow(300_000)}(MODEL_ID, 300_000);
        RequestCommitment memory commitment = _requested(vm.getRecordedLogs());
        (, uint256 deliveredBefore, , ) = log.pendingLog();
        vm.recordLogs();
        _deliver(_single(_fulfillment(commitment, "answer")));
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        assertEq(results.length, 1, "the result delivered");
        assertEq(coordinator.commitmentOf(commitment.requestId), bytes32(0), "and its request answered");
        (, uint256 deliveredAfter, , ) = log.pendingLog();
        assertEq(deliveredAfter, deliveredBefore + 1, "one leaf queued: the delivery's own");
        outcome = results[0].callback;
    }

    /// @dev The callback's `call` must fail with error `selector` naming the consumer: a callback that
    /// lets it fail is recorded Failed, one that swallows it Succeeded; either way the delivery stands.
    function _assertCallbackRefused(address target, bytes memory call, bytes4 selector) internal {
        (, CallbackOutcome outcome) = _deliverCalling(target, call, true);
        assertTrue(outcome == CallbackOutcome.Failed, "the callback recorded as Failed");
        (ReenteringConsumer kept, CallbackOutcome returned) = _deliverCalling(target, call, false);
        assertTrue(returned == CallbackOutcome.Succeeded, "a callback that swallows the error returns");
        assertTrue(!kept.reentrySucceeded(), "its call refused");
        assertEq(kept.reentryError(), abi.encodeWithSelector(selector, address(kept)), "with the error");
    }

    function test_callback_appendDeliveredIsRefused() public {
        _assertCallbackRefused(
            address(log),
            abi.encodeCall(ISibylLog.appendDelivered, (_oneLeaf())),
            ISibylLog.NotCoordinator.selector
        );
        assertEq(log.root(), SibylEncoding.EMPTY_ROOT, "root unmoved");
    }

    function test_callback_appendProvenIsRefused() public {
        (uint256 newRoot, uint256[8] memory proof) = _proveLeaves(_oneLeaf());
        _assertCallbackRefused(
            address(log),
            abi.encodeCall(ISibylLog.appendProven, (_oneLeaf(), newRoot, proof, stranger)),
            ISibylLog.NotCoordinator.selector
        );
        assertEq(log.root(), SibylEncoding.EMPTY_ROOT, "root unmoved");
    }

    function test_callback_penalizeIsRefused() public {
        _assertCallbackRefused(
            address(ledger),
            abi.encodeCall(IOperatorLedger.penalize, (operator, 1)),
            ISibylLog.NotCoordinator.selector
        );
        assertEq(ledger.operatorOf(operator).stake, MIN_STAKE, "the operator's stake untouched");
        assertEq(ledger.burned(), 0, "nothing burned");
    }

    function test_callback_authorizeCoordinatorIsRefused() public {
        _assertCallbackRefused(
            address(log),
            abi.encodeCall(ISibylLog.authorizeCoordinator, (address(impostor))),
            Ownable.OwnableUnauthorizedAccount.selector
        );
        assertEq(log.coordinator(), address(coordinator), "unchanged");
    }

    // ─── Helpers ───────────────────────────────────────────────────────────────────────────────────

    function _statementDigest(
        address where,
        ResultStatement memory statement
    ) internal view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256("Sibyl"),
                keccak256("1"),
                block.chainid,
                where
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("ResultStatement(uint256 requestId,bytes32 outputHash,uint8 status)"),
                statement.requestId,
                statement.outputHash,
                statement.status
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }
}
