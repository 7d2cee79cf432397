// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {OperatorLedger} from "../../../contracts/OperatorLedger.sol";
import {SibylCoordinator} from "../../../contracts/SibylCoordinator.sol";
import {SibylLog} from "../../../contracts/SibylLog.sol";
import {IOperatorLedger} from "../../../contracts/interfaces/IOperatorLedger.sol";
import {ISibylCoordinator} from "../../../contracts/interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "../../../contracts/interfaces/ISibylLog.sol";
import {Fulfillment, Operator, RequestCommitment} from "../../../contracts/interfaces/SibylTypes.sol";
import {CoordinatorBooks} from "./CoordinatorBooks.sol";
import {Delivered} from "./SettlementFixture.sol";

/// @notice Drives the deployment (log, ledger, coordinator) with random sequences of requests,
/// fulfilments and deliveries, proofs by anyone (valid and forged), reassignments, cancellations,
/// replays, withdrawals, slashes, stake withdrawals, appends by an impostor, time jumps and gas price
/// moves, keeping ghost books to check it against.
contract CoordinatorHandler is CoordinatorBooks {
    /// @dev Set when the assignee's own takeover of a live request past its window went through, failed
    /// for another reason, or changed the stored commitment.
    bool public reassignBroken;
    uint256 public reassignments;
    /// @dev Set when a takeover did not take exactly one liveness penalty from the late operator, did
    /// not burn it, or paid its deliverer anything but its fee.
    bool public penaltyBroken;
    uint256 public takeovers;
    /// @dev Set when a slash or a stake withdrawal moved other than the stake it reported.
    bool public stakeBooksBroken;
    uint256 public slashes;

    constructor(
        SibylLog log_,
        OperatorLedger ledger_,
        SibylCoordinator coordinator_,
        address operator_
    ) CoordinatorBooks(log_, ledger_, coordinator_, operator_) {}

    function request(
        uint256 actorSeed,
        uint256 inputSeed,
        uint32 callbackGas,
        uint64 overpay
    ) public override {
        _gasPrice(chainBaseFee, chainTip);
        address actor = actors[actorSeed % actors.length];
        // Refunds go to whoever the requester names, not necessarily itself.
        address refundTo = actors[(actorSeed >> 8) % actors.length];
        callbackGas = uint32(bound(callbackGas, 0, 100_000));
        uint256 escrow = _escrowNow(callbackGas) + (overpay % 1 ether);
        pending.push(
            _requestWith(actor, abi.encodePacked(inputSeed, actorSeed), callbackGas, escrow, refundTo)
        );
        pendingEscrows += escrow;
        _afterAction();
    }

    function fulfill(uint256 countSeed, uint8 status) external {
        // fulfill cannot go ahead of delivered leaves: prove them first, as a node would.
        _proveAll();
        Fulfillment[] memory batch = _takeLive(countSeed, status);
        uint256 earnedBefore = coordinator.balanceOf(operator);
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        Delivered[] memory results = _send(
            abi.encodeCall(ISibylCoordinator.fulfill, (batch, newRoot, proof))
        );
        expectedRoot = newRoot;
        uint256 charged = _checkResults(batch, results);
        if (coordinator.balanceOf(operator) != earnedBefore + charged) chargesMismatch = true;
        expectedDelivered += batch.length;
        expectedProven = expectedDelivered;
        expectedHead = bytes32(expectedDelivered);
        provenResults += batch.length;
        _afterAction();
    }

    function deliver(uint256 countSeed, uint8 status) external {
        Fulfillment[] memory batch = _takeLive(countSeed, status);
        if (expectedDelivered - expectedProven + batch.length > log.MAX_PENDING_LEAVES()) {
            _deliverPastTheBound(batch);
            return;
        }
        uint256 earnedBefore = coordinator.balanceOf(operator);
        Delivered[] memory results = _send(abi.encodeCall(ISibylCoordinator.deliver, (batch)));
        uint256 charged = _checkResults(batch, results);
        if (coordinator.balanceOf(operator) != earnedBefore + charged) chargesMismatch = true;
        uint256[] memory leaves = _leavesBy(batch, operator);
        for (uint256 i; i < leaves.length; ++i) pendingLeaves.push(leaves[i]);
        expectedDelivered += batch.length;
        deliveryEnds.push(expectedDelivered);
        _afterAction();
    }

    /// @dev A burst: deliveries of 64 until the queue is within one of its bound, then one more that
    /// must be refused without losing its requests.
    function burst(uint8 status) external {
        uint256 bound_ = log.MAX_PENDING_LEAVES();
        bool refused;
        while (!refused) {
            refused = expectedDelivered - expectedProven + LARGEST_BATCH > bound_;
            for (uint256 i; i < LARGEST_BATCH; ++i) request(i, expectedDelivered + i, 0, 0);
            this.deliver(LARGEST_BATCH - 1, status);
        }
    }

    /// @dev Proves the queue up to a delivery's end that one proof can reach, as one of the actors,
    /// the operator or a stranger.
    function prove(uint256 endSeed, uint256 proverSeed) external {
        if (deliveryEnds.length == 0) return;
        _proveUpTo(endSeed % _reachableEnds(), _account(proverSeed));
        _afterAction();
    }

    function proveForged(uint256 noise) external {
        if (deliveryEnds.length == 0) return;
        uint256[] memory leaves = _firstPending(deliveryEnds[0] - expectedProven);
        (uint256 newRoot, uint256[8] memory proof) = _proveLeaves(leaves);
        if (noise % 2 == 0) proof[(noise >> 1) % 8] ^= (noise >> 8) | 1;
        else leaves[(noise >> 1) % leaves.length] ^= (noise >> 8) | 1;
        vm.prank(STRANGER);
        try log.prove(leaves, newRoot, proof) {
            expectedRoot = type(uint256).max; // a forged proof got through: the root invariant fails
        } catch {}
        _afterAction();
    }

    function fulfillForged(uint256 countSeed, uint256 noise) external {
        if (pending.length == 0) return;
        uint256 count = bound(countSeed, 1, pending.length < 16 ? pending.length : 16);
        Fulfillment[] memory batch = new Fulfillment[](count);
        for (uint256 i; i < count; ++i) batch[i] = _fulfillment(pending[pending.length - 1 - i], "forged");
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        proof[noise % 8] ^= (noise >> 8) | 1;
        vm.prank(operator);
        try coordinator.fulfill(batch, newRoot, proof) {
            expectedRoot = type(uint256).max;
        } catch {}
        _afterAction();
    }

    /// @dev The operator, the only one here and so every request's assignee, tries to take over a live
    /// request of its own whose window passed (warping past the window when it still runs): refused with
    /// AlreadyAssigned, the stored commitment untouched. (Takeovers by another operator: the Reassign
    /// suite.)
    function reassign(uint256 indexSeed) external {
        // Nothing to take over: ask first, so that every call exercises a reassignment.
        if (_dropExpired() == 0) request(indexSeed, indexSeed, 0, 0);
        uint256 live = _dropExpired();
        uint256 index = pending.length - 1 - (indexSeed % live);
        RequestCommitment memory commitment = pending[index];
        if (block.timestamp <= commitment.exclusiveUntil) {
            if (commitment.exclusiveUntil >= commitment.deadline) return;
            vm.warp(commitment.exclusiveUntil + 1);
        }
        RequestCommitment[] memory list = new RequestCommitment[](1);
        list[0] = commitment;
        vm.prank(operator);
        try coordinator.reassign(list) {
            reassignBroken = true;
        } catch (bytes memory reason) {
            if (
                bytes4(reason) != ISibylCoordinator.AlreadyAssigned.selector ||
                coordinator.commitmentOf(commitment.requestId) != keccak256(abi.encode(commitment))
            ) reassignBroken = true;
            ++reassignments;
        }
        _afterAction();
    }

    /// @dev TAKER joins, takes over a live request whose window passed (warping past it when it still
    /// runs), delivers it and leaves again, so every other action still finds the operator the only
    /// assignee: the operator pays one liveness penalty, burned (unless the escrow no longer pays for
    /// delivery at today's base fee), and TAKER is paid its fee alone.
    function takeOver(uint256 indexSeed) external {
        if (_dropExpired() == 0) request(indexSeed, indexSeed, 0, 0);
        uint256 index = pending.length - 1 - (indexSeed % _dropExpired());
        RequestCommitment memory late = pending[index];
        if (late.exclusiveUntil >= late.deadline) return;
        if (expectedDelivered - expectedProven >= log.MAX_PENDING_LEAVES()) return;
        if (block.timestamp <= late.exclusiveUntil) vm.warp(late.exclusiveUntil + 1);
        _joinAsTaker();
        uint256 lateStake = ledger.operatorOf(operator).stake;
        uint256 takerBalance = coordinator.balanceOf(TAKER);
        uint256 burnedBefore = ledger.burned();
        // Waived when the escrow no longer pays for delivery at today's base fee: the assignee may
        // leave it.
        bool owed = late.escrow >= coordinator.estimateFee(MODEL_ID, late.callbackGasLimit, block.basefee);
        Fulfillment[] memory batch = _single(_fulfillment(_reassignToTaker(late), "taken over"));
        _gasPrice(chainBaseFee, chainTip);
        vm.recordLogs();
        vm.prank(TAKER);
        coordinator.deliver(batch);
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        uint256 penalty =
            !owed
                ? 0
                : lateStake < LIVENESS_PENALTY
                    ? lateStake
                    : LIVENESS_PENALTY;
        if (ledger.operatorOf(operator).stake != lateStake - penalty) penaltyBroken = true;
        if (coordinator.balanceOf(TAKER) != takerBalance + _checkResults(batch, results))
            penaltyBroken = true;
        if (ledger.burned() != burnedBefore + penalty) penaltyBroken = true;
        for (uint256 i = index; i + 1 < pending.length; ++i) pending[i] = pending[i + 1];
        pending.pop();
        pendingLeaves.push(_leafBy(batch[0], TAKER));
        expectedDelivered += 1;
        deliveryEnds.push(expectedDelivered);
        vm.prank(TAKER);
        ledger.requestOperatorExit();
        ++takeovers;
        _afterAction();
    }

    function cancel(uint256 indexSeed) external {
        if (pending.length == 0) request(indexSeed, indexSeed, 0, 0);
        uint256 index = indexSeed % pending.length;
        RequestCommitment memory commitment = pending[index];
        if (block.timestamp <= commitment.deadline) vm.warp(commitment.deadline + 1);
        coordinator.cancel(commitment);
        pending[index] = pending[pending.length - 1];
        pending.pop();
        pendingEscrows -= commitment.escrow;
        finished.push(_fulfillment(commitment, "cancelled"));
        cancellations += 1;
        _afterAction();
    }

    /// @dev Tries to answer or cancel a request a second time; success would break "at most once".
    function replay(uint256 indexSeed, uint8 how) external {
        if (finished.length == 0) return;
        Fulfillment memory done = finished[indexSeed % finished.length];
        Fulfillment[] memory batch = _single(done);
        bool succeeded;
        if (how % 4 == 3) {
            RequestCommitment[] memory list = new RequestCommitment[](1);
            list[0] = done.commitment;
            vm.prank(operator);
            try coordinator.reassign(list) {
                succeeded = true;
            } catch {}
        } else if (how % 4 == 0) {
            if (block.timestamp <= done.commitment.deadline) vm.warp(done.commitment.deadline + 1);
            try coordinator.cancel(done.commitment) {
                succeeded = true;
            } catch {}
        } else if (how % 4 == 1) {
            (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
            vm.prank(operator);
            try coordinator.fulfill(batch, newRoot, proof) {
                succeeded = true;
            } catch {}
        } else {
            vm.prank(operator);
            try coordinator.deliver(batch) {
                succeeded = true;
            } catch {}
        }
        if (succeeded) answeredTwice = true;
        _afterAction();
    }

    function withdraw(uint256 actorSeed) external {
        address account = _account(actorSeed);
        if (coordinator.balanceOf(account) == 0) return;
        vm.prank(account);
        coordinator.withdraw();
        _afterAction();
    }

    /// @dev REPORTER proves that TAKER signed two answers to one request: the ledger sends it a share
    /// of TAKER's stake, in ether.
    function slashTaker() external {
        uint256 stake = ledger.operatorOf(TAKER).stake;
        if (stake == 0) return;
        uint256 before = REPORTER.balance;
        _reportTakerEquivocation(++slashes);
        uint256 taken = REPORTER.balance - before;
        if (taken == 0 || ledger.operatorOf(TAKER).stake != stake - taken) stakeBooksBroken = true;
        slashedOut += taken;
        _afterAction();
    }

    /// @dev TAKER, out of the active set, waits out its unbonding and withdraws what is left.
    function withdrawTakerStake() external {
        Operator memory taker = ledger.operatorOf(TAKER);
        if (taker.active || taker.stake == 0) return;
        if (block.timestamp < taker.unlockAt) vm.warp(taker.unlockAt);
        uint256 before = TAKER.balance;
        vm.prank(TAKER);
        ledger.withdrawStake();
        if (TAKER.balance != before + taker.stake || ledger.operatorOf(TAKER).stake != 0)
            stakeBooksBroken = true;
        stakeWithdrawn += taker.stake;
        _afterAction();
    }

    /// @dev An account the log never authorized appends (with a proof that would pass) and penalizes:
    /// every attempt must revert NotCoordinator.
    function impostor(uint256 leafSeed) external {
        uint256[] memory leaves = new uint256[](1 + (leafSeed % 4));
        for (uint256 i; i < leaves.length; ++i) leaves[i] = uint256(keccak256(abi.encode(leafSeed, i))) >> 8;
        (uint256 newRoot, uint256[8] memory proof) = _proveLeaves(leaves);
        _expectNotCoordinator(abi.encodeCall(ISibylLog.appendDelivered, (leaves)), address(log));
        _expectNotCoordinator(
            abi.encodeCall(ISibylLog.appendProven, (leaves, newRoot, proof, STRANGER)),
            address(log)
        );
        _expectNotCoordinator(
            abi.encodeCall(IOperatorLedger.penalize, (operator, leafSeed)),
            address(ledger)
        );
        _afterAction();
    }

    function warp(uint32 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 0, TIMEOUT));
        _afterAction();
    }

    /// @dev The base fee moves and operators tip anything from nothing to far above the cap. Kept
    /// here and applied inside each action: a base fee left set would outprice the runner's own calls.
    function gasPrice(uint64 baseFee, uint64 tip) external {
        // In steps of 0.001 gwei: the fuzzer favours small numbers, and a base fee of a few wei would
        // make every charge a rounding error.
        chainBaseFee = bound(baseFee, 0, 500_000) * 1e6;
        chainTip = bound(tip, 0, 20 gwei);
    }
}
