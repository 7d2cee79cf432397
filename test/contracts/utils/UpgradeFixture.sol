// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SibylCoordinator} from "../../../contracts/SibylCoordinator.sol";
import {ISibylLog} from "../../../contracts/interfaces/ISibylLog.sol";
import {RequestCommitment} from "../../../contracts/interfaces/SibylTypes.sol";
import {PendingLogFixture} from "./PendingLogFixture.sol";
import {Appended, Delivered} from "./SettlementFixture.sol";
import {Vm} from "./Vm.sol";

/// @notice Two coordinator versions on one log and one ledger: v1 (the fixture's), and v2 authorized
/// after it, with helpers that act on either version and books of every result and batch the log saw,
/// to check its sequence and root run on unbroken across the switch.
abstract contract UpgradeFixture is PendingLogFixture {
    SibylCoordinator internal v1;
    SibylCoordinator internal v2;
    /// @dev Sequences of every ResultDelivered, in the order seen, from either version.
    uint256[] internal sequences;
    /// @dev Every BatchAppended the log emitted, in order.
    Appended[] internal batches;

    function setUp() public virtual override {
        super.setUp();
        v1 = coordinator;
    }

    /// @dev Pauses v1, deploys v2 starting at v1's next request id, and authorizes it in the log.
    function _switchToV2() internal {
        v1.pause();
        v2 = _newCoordinator(v1.nextRequestId());
        log.authorizeCoordinator(address(v2));
    }

    /// @dev The fixture's helpers act on `version` from now on.
    function _use(SibylCoordinator version) internal {
        coordinator = version;
    }

    /// @dev Requests on `version` until one is assigned to `assignee`.
    function _requestOn(
        SibylCoordinator version,
        address assignee
    ) internal returns (RequestCommitment memory) {
        _use(version);
        return _requestAssignedTo(assignee);
    }

    /// @dev Delivers `commitment` without a proof on `version` as its assignee, recording the sequence.
    function _deliverOn(
        SibylCoordinator version,
        RequestCommitment memory commitment,
        bytes memory output
    ) internal {
        _use(version);
        vm.recordLogs();
        _deliverAs(_single(_fulfillment(commitment, output)), commitment.operator);
        _record(vm.getRecordedLogs());
    }

    /// @dev Fulfils `commitment` with a proof on `version` as its assignee, recording the sequence.
    function _fulfillOn(
        SibylCoordinator version,
        RequestCommitment memory commitment,
        bytes memory output
    ) internal {
        _use(version);
        vm.recordLogs();
        _fulfillAs(_single(_fulfillment(commitment, output)), commitment.operator);
        _record(vm.getRecordedLogs());
    }

    /// @dev Proves every pending leaf through the log, as a stranger.
    function _proveAllPending() internal {
        vm.recordLogs();
        _provePending(pendingLeaves.length, address(0xBEEF));
        _record(vm.getRecordedLogs());
    }

    function _record(Vm.Log[] memory logs) internal {
        Delivered[] memory results = _delivered(logs);
        for (uint256 i; i < results.length; ++i) sequences.push(results[i].sequence);
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == ISibylLog.BatchAppended.selector) {
                Vm.Log[] memory one = new Vm.Log[](1);
                one[0] = logs[i];
                batches.push(_appended(one));
            }
        }
    }

    /// @dev Results numbered 0, 1, 2, ... in delivery order whichever version delivered them, and
    /// batches each starting at the root and the sequence where the one before ended.
    function _assertLogUnbroken() internal view {
        for (uint256 i; i < sequences.length; ++i) assertEq(sequences[i], i, "sequence");
        uint256 root = batches[0].oldRoot;
        uint256 next;
        for (uint256 i; i < batches.length; ++i) {
            assertEq(batches[i].oldRoot, root, "each batch starts at the root the last one left");
            assertEq(batches[i].firstSequence, next, "and at the sequence the last one ended");
            root = batches[i].newRoot;
            next += batches[i].count;
        }
        assertEq(log.root(), root, "the log's root is the last batch's");
        (uint256 proven, uint256 delivered, , ) = log.pendingLog();
        assertEq(proven, next, "every batch proven in order");
        assertEq(delivered, sequences.length, "every result has its sequence");
    }
}
