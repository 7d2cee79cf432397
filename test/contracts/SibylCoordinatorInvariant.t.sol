// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SibylCoordinator} from "../../contracts/SibylCoordinator.sol";
import {Fulfillment, RequestCommitment, ResultStatus} from "../../contracts/interfaces/SibylTypes.sol";
import {MockBatchVerifier} from "../../contracts/mocks/MockBatchVerifier.sol";
import {CoordinatorFixture} from "./utils/CoordinatorFixture.sol";
import {Delivered, SettlementFixture} from "./utils/SettlementFixture.sol";

/// @notice Drives the coordinator with random sequences of requests, fulfilments (valid and forged),
/// cancellations, replays, withdrawals, time jumps and gas price moves, keeping ghost books to check
/// it against.
contract CoordinatorHandler is SettlementFixture {
    address[3] internal actors = [address(0xA1), address(0xA2), address(0xA3)];
    RequestCommitment[] internal pending;
    Fulfillment[] internal finished;

    uint256 public pendingEscrows;
    uint256 internal chainBaseFee;
    uint256 internal chainTip;
    uint256 public expectedRoot;
    uint256 public lastNextIndex;
    bool public answeredTwice;
    bool public nextIndexShrank;
    /// @dev Set when a fulfilment charged more than an escrow, or paid the operator other than the
    /// charges its events report.
    bool public chargesMismatch;
    uint256 public fulfilments;
    uint256 public cancellations;

    constructor(SibylCoordinator coordinator_, address operator_) {
        coordinator = coordinator_;
        operator = operator_;
        expectedRoot = coordinator.root();
        for (uint256 i; i < 4; ++i) {
            uint256 size = 4 ** i;
            mockVerifiers[size] = MockBatchVerifier(address(coordinator.verifierFor(size)));
        }
        for (uint256 i; i < actors.length; ++i) vm.deal(actors[i], 1_000 ether);
    }

    function setUp() public override {}

    function request(uint256 actorSeed, uint256 inputSeed, uint32 callbackGas, uint64 overpay) public {
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
        // Nothing to answer: ask first, so that every call exercises a fulfilment.
        if (_dropExpired() == 0) request(countSeed, status, 0, 0);
        uint256 live = _dropExpired();
        uint256 count = bound(countSeed, 1, live < 64 ? live : 64);
        Fulfillment[] memory batch = new Fulfillment[](count);
        for (uint256 i; i < count; ++i) {
            batch[i] = _fulfillment(pending[pending.length - 1], abi.encodePacked("answer ", i));
            batch[i].status = uint8(bound(status, 0, uint8(type(ResultStatus).max)));
            pending.pop();
        }
        uint256 earnedBefore = coordinator.balanceOf(operator);
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        _gasPrice(chainBaseFee, chainTip);
        vm.recordLogs();
        vm.prank(operator);
        try coordinator.fulfill(batch, newRoot, proof) {
            expectedRoot = newRoot;
        } catch (bytes memory reason) {
            // The runner's next call must not be priced at this action's gas price.
            _gasPrice(0, 0);
            assembly ("memory-safe") {
                revert(add(reason, 32), mload(reason))
            }
        }
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        uint256 charged;
        for (uint256 i; i < count; ++i) {
            if (results[i].fee > batch[i].commitment.escrow) chargesMismatch = true;
            charged += results[i].fee;
            pendingEscrows -= batch[i].commitment.escrow;
            finished.push(batch[i]);
        }
        if (coordinator.balanceOf(operator) != earnedBefore + charged) chargesMismatch = true;
        fulfilments += count;
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
            expectedRoot = type(uint256).max; // a forged proof got through: the root invariant fails
        } catch {}
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
    function replay(uint256 indexSeed, bool viaCancel) external {
        if (finished.length == 0) return;
        Fulfillment memory done = finished[indexSeed % finished.length];
        if (viaCancel) {
            if (block.timestamp <= done.commitment.deadline) vm.warp(done.commitment.deadline + 1);
            try coordinator.cancel(done.commitment) {
                answeredTwice = true;
            } catch {}
        } else {
            Fulfillment[] memory batch = _single(done);
            (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
            vm.prank(operator);
            try coordinator.fulfill(batch, newRoot, proof) {
                answeredTwice = true;
            } catch {}
        }
        _afterAction();
    }

    function withdraw(uint256 actorSeed) external {
        address account = actorSeed % 4 == 3 ? operator : actors[actorSeed % 3];
        if (coordinator.balanceOf(account) == 0) return;
        vm.prank(account);
        coordinator.withdraw();
        _afterAction();
    }

    function warp(uint32 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 0, TIMEOUT));
        _afterAction();
    }

    /// @dev The base fee moves and operators tip anything from nothing to far above the cap. Kept
    /// here and applied inside each action: a base fee left set would outprice the runner's own calls.
    function gasPrice(uint64 baseFee, uint64 tip) external {
        chainBaseFee = bound(baseFee, 0, 500 gwei);
        chainTip = bound(tip, 0, 20 gwei);
    }

    function heldByAccounts() external view returns (uint256 sum) {
        for (uint256 i; i < actors.length; ++i) sum += coordinator.balanceOf(actors[i]);
        sum += coordinator.balanceOf(operator);
    }

    /// @dev Expired requests cannot be fulfilled; leave them for cancel.
    function _dropExpired() internal view returns (uint256 live) {
        for (uint256 i = pending.length; i > 0; --i) {
            if (pending[i - 1].deadline < block.timestamp) return live;
            ++live;
        }
    }

    function _afterAction() internal {
        _gasPrice(0, 0);
        uint256 current = coordinator.nextIndex();
        if (current < lastNextIndex) nextIndexShrank = true;
        lastNextIndex = current;
    }
}

contract SibylCoordinatorInvariantTest is CoordinatorFixture {
    CoordinatorHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new CoordinatorHandler(coordinator, operator);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_etherIsConserved() public view {
        uint256 stake = coordinator.operatorOf(operator).stake;
        assertEq(
            address(coordinator).balance,
            handler.heldByAccounts() + handler.pendingEscrows() + stake,
            "balance = credited balances + pending escrows + stakes"
        );
    }

    function invariant_chargesAreCappedAndPaidToTheDeliverer() public view {
        assertTrue(!handler.chargesMismatch(), "a charge above its escrow or not paid to the operator");
    }

    function invariant_eachRequestIsAnsweredAtMostOnce() public view {
        assertTrue(!handler.answeredTwice(), "a request was fulfilled or cancelled twice");
    }

    function invariant_rootOnlyMovesByAVerifiedProof() public view {
        assertEq(coordinator.root(), handler.expectedRoot(), "root");
    }

    function invariant_nextIndexOnlyGrows() public view {
        assertTrue(!handler.nextIndexShrank(), "next index shrank");
    }

    /// @dev Each run must have exercised the coordinator, or the invariants above proved nothing.
    function afterInvariant() public view {
        assertGe(
            handler.fulfilments() + handler.cancellations(),
            1,
            "requests answered or cancelled in the run"
        );
        assertEq(
            coordinator.nextIndex() == 0 ? 0 : 1,
            handler.fulfilments() == 0 ? 0 : 1,
            "fulfilments moved the log"
        );
    }
}
