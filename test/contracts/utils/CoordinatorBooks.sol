// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {OperatorLedger} from "../../../contracts/OperatorLedger.sol";
import {SibylCoordinator} from "../../../contracts/SibylCoordinator.sol";
import {SibylLog} from "../../../contracts/SibylLog.sol";
import {ISibylCoordinator} from "../../../contracts/interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "../../../contracts/interfaces/ISibylLog.sol";
import {
    Fulfillment,
    RequestCommitment,
    ResultStatement,
    ResultStatus
} from "../../../contracts/interfaces/SibylTypes.sol";
import {MockBatchVerifier} from "../../../contracts/mocks/MockBatchVerifier.sol";
import {PendingLogFixture} from "./PendingLogFixture.sol";
import {Delivered} from "./SettlementFixture.sol";
import {Vm} from "./Vm.sol";

/// @notice The invariant handler's ghost books (what the coordinator should hold, owe and have
/// queued) and the steps its actions share: taking live requests, sending as the operator, checking
/// charges and sequences, proving the queue up to a delivery's end.
abstract contract CoordinatorBooks is PendingLogFixture {
    /// @dev Proves now and then, and has no other part.
    address public constant STRANGER = address(0xBEEF);
    /// @dev An operator only for the length of a takeover: it joins, takes a late request over,
    /// delivers it and exits. Its key signs the equivocations slashTaker reports.
    uint256 internal constant TAKER_KEY = 0x7A4E;
    address public immutable TAKER = vm.addr(TAKER_KEY);
    /// @dev Reports TAKER's equivocations; paid by the ledger in ether, never credited in the coordinator.
    address public constant REPORTER = address(0x5E1F);
    uint256 internal constant LARGEST_BATCH = 64;

    address[3] internal actors = [address(0xA1), address(0xA2), address(0xA3)];
    RequestCommitment[] internal pending;
    Fulfillment[] internal finished;
    /// @dev The sequence right after each delivery still pending: where a proof may end.
    uint256[] internal deliveryEnds;

    uint256 public pendingEscrows;
    uint256 internal chainBaseFee;
    uint256 internal chainTip;
    uint256 public expectedRoot;
    uint256 public lastNextIndex;
    /// @dev The pending queue as the handler saw it built: proven and delivered sequences, the chain
    /// at its head.
    uint256 public expectedProven;
    uint256 public expectedDelivered;
    bytes32 public expectedHead;
    bool public answeredTwice;
    bool public nextIndexShrank;
    /// @dev Set when a charge exceeded its escrow, or the operator was paid other than the charges
    /// its events report.
    bool public chargesMismatch;
    /// @dev Set when a prove moved any balance or the coordinator's ether.
    bool public proveMovedMoney;
    /// @dev Set when a delivery past the bound went through, or lost the requests it refused.
    bool public backPressureBroken;
    /// @dev Deliveries refused for the bound.
    uint256 public refusals;
    bool public sequenceMismatch;
    uint256 public answered;
    uint256 public provenResults;
    uint256 public cancellations;
    /// @dev The stake books: every wei ever staked, and where stake left the stakes by other paths than
    /// a penalty (which the ledger counts in burned()).
    uint256 public staked;
    uint256 public stakeWithdrawn;
    uint256 public slashedOut;
    /// @dev Set when an account the log does not authorize appended or penalized.
    bool public impostorSucceeded;
    uint256 public impostorAttempts;

    constructor(SibylLog log_, OperatorLedger ledger_, SibylCoordinator coordinator_, address operator_) {
        log = log_;
        ledger = ledger_;
        coordinator = coordinator_;
        operator = operator_;
        expectedRoot = log.root();
        staked = ledger.operatorOf(operator_).stake;
        // A live chain's price until the fuzzer moves it, so charges are not zero from the start.
        chainBaseFee = 7 gwei;
        for (uint256 i; i < 4; ++i) {
            uint256 size = 4 ** i;
            mockVerifiers[size] = MockBatchVerifier(address(log.verifierFor(size)));
        }
        for (uint256 i; i < actors.length; ++i) vm.deal(actors[i], 1_000 ether);
    }

    function setUp() public override {}

    /// @notice The handler's request action: _takeLive asks when nothing is live.
    function request(uint256 actorSeed, uint256 inputSeed, uint32 callbackGas, uint64 overpay) public virtual;

    function heldByAccounts() external view returns (uint256 sum) {
        for (uint256 i; i < actors.length; ++i) sum += coordinator.balanceOf(actors[i]);
        sum +=
            coordinator.balanceOf(operator) +
            coordinator.balanceOf(STRANGER) +
            coordinator.balanceOf(TAKER);
    }

    /// @dev The queue's chain over the leaves the handler delivered and has not proven.
    function expectedTail() external view returns (bytes32) {
        return _chain(expectedHead, pendingLeaves);
    }

    /// @dev Takes 1 to 64 of the newest live requests (asking first when none is), answered with
    /// `status`.
    function _takeLive(uint256 countSeed, uint8 status) internal returns (Fulfillment[] memory batch) {
        // Nothing to answer: ask first, so that every call exercises a delivery.
        if (_dropExpired() == 0) request(countSeed, status, 0, 0);
        uint256 live = _dropExpired();
        uint256 count = bound(countSeed, 1, live < LARGEST_BATCH ? live : LARGEST_BATCH);
        batch = new Fulfillment[](count);
        for (uint256 i; i < count; ++i) {
            batch[i] = _fulfillment(pending[pending.length - 1], abi.encodePacked("answer ", i));
            batch[i].status = uint8(bound(status, 0, uint8(type(ResultStatus).max)));
            pending.pop();
        }
    }

    /// @dev Sends `call` as the operator at the chain's gas price and returns its ResultDelivered
    /// events; a revert ends the action.
    function _send(bytes memory call) internal returns (Delivered[] memory results) {
        _gasPrice(chainBaseFee, chainTip);
        vm.recordLogs();
        vm.prank(operator);
        (bool success, bytes memory reason) = address(coordinator).call(call);
        if (!success) {
            // The runner's next call must not be priced at this action's gas price.
            _gasPrice(0, 0);
            assembly ("memory-safe") {
                revert(add(reason, 32), mload(reason))
            }
        }
        return _delivered(vm.getRecordedLogs());
    }

    /// @dev Checks each result's charge and sequence, retires it in the books, returns the charges.
    function _checkResults(
        Fulfillment[] memory batch,
        Delivered[] memory results
    ) internal returns (uint256 charged) {
        if (results.length != batch.length) sequenceMismatch = true;
        for (uint256 i; i < batch.length; ++i) {
            if (results[i].fee > batch[i].commitment.escrow) chargesMismatch = true;
            if (results[i].sequence != expectedDelivered + i) sequenceMismatch = true;
            charged += results[i].fee;
            pendingEscrows -= batch[i].commitment.escrow;
            finished.push(batch[i]);
        }
        answered += batch.length;
    }

    /// @dev A delivery past the bound must revert TooManyPendingLeaves and leave its requests pending.
    function _deliverPastTheBound(Fulfillment[] memory batch) internal {
        ++refusals;
        _gasPrice(chainBaseFee, chainTip);
        vm.prank(operator);
        try coordinator.deliver(batch) {
            backPressureBroken = true;
        } catch (bytes memory reason) {
            if (bytes4(reason) != ISibylLog.TooManyPendingLeaves.selector) backPressureBroken = true;
        }
        for (uint256 i; i < batch.length; ++i) {
            RequestCommitment memory commitment = batch[i].commitment;
            if (coordinator.commitmentOf(commitment.requestId) != keccak256(abi.encode(commitment))) {
                backPressureBroken = true;
            }
            pending.push(commitment);
        }
        _afterAction();
    }

    /// @dev TAKER back in the active set, its stake topped up to the minimum.
    function _joinAsTaker() internal {
        uint256 stake = ledger.operatorOf(TAKER).stake;
        uint256 topUp = stake < MIN_STAKE ? MIN_STAKE - stake : 0;
        vm.deal(TAKER, topUp);
        staked += topUp;
        vm.prank(TAKER);
        ledger.registerOperator{value: topUp}();
        if (ledger.declaredModels(TAKER).length == 0) {
            vm.prank(TAKER);
            ledger.declareModel(MODEL_ID);
        }
    }

    /// @dev Reassigns `late` to TAKER and returns the commitment RequestReassigned reports.
    function _reassignToTaker(RequestCommitment memory late) internal returns (RequestCommitment memory) {
        RequestCommitment[] memory list = new RequestCommitment[](1);
        list[0] = late;
        vm.recordLogs();
        vm.prank(TAKER);
        coordinator.reassign(list);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == ISibylCoordinator.RequestReassigned.selector) {
                return abi.decode(logs[i].data, (RequestCommitment));
            }
        }
        revert AssertionFailed("no RequestReassigned event");
    }

    /// @dev Reports, as REPORTER, TAKER's two signed answers ("yes", "no") to request `requestId`:
    /// committed, then revealed a block later.
    function _reportTakerEquivocation(uint256 requestId) internal {
        ResultStatement memory a = ResultStatement(requestId, keccak256("yes"), uint8(ResultStatus.Ok));
        ResultStatement memory b = ResultStatement(requestId, keccak256("no"), uint8(ResultStatus.Ok));
        bytes memory signatureA = _signByTaker(coordinator.statementDigest(a));
        bytes memory signatureB = _signByTaker(coordinator.statementDigest(b));
        vm.prank(REPORTER);
        ledger.commitEquivocationReport(
            keccak256(abi.encode(REPORTER, address(coordinator), a, signatureA, b, signatureB))
        );
        vm.roll(block.number + 1);
        vm.prank(REPORTER);
        ledger.reportEquivocation(address(coordinator), a, signatureA, b, signatureB);
    }

    function _signByTaker(bytes32 digest) private pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(TAKER_KEY, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev `call` to `target` from STRANGER must revert NotCoordinator; anything else flags the books.
    function _expectNotCoordinator(bytes memory call, address target) internal {
        ++impostorAttempts;
        vm.prank(STRANGER);
        (bool success, bytes memory reason) = target.call(call);
        bytes memory expected = abi.encodeWithSelector(ISibylLog.NotCoordinator.selector, STRANGER);
        if (success || keccak256(reason) != keccak256(expected)) impostorSucceeded = true;
    }

    /// @dev How many of the pending deliveries' ends one proof can reach from the queue's head.
    function _reachableEnds() internal view returns (uint256 reachable) {
        while (reachable < deliveryEnds.length && deliveryEnds[reachable] - expectedProven <= LARGEST_BATCH) {
            ++reachable;
        }
    }

    function _proveAll() internal {
        while (deliveryEnds.length != 0) _proveUpTo(_reachableEnds() - 1, operator);
    }

    /// @dev Proves the queue up to the end of pending delivery `endIndex` as `prover`, checking that
    /// no balance and none of the coordinator's ether moves.
    function _proveUpTo(uint256 endIndex, address prover) internal {
        uint256 end = deliveryEnds[endIndex];
        uint256 count = end - expectedProven;
        uint256 heldBefore = address(coordinator).balance;
        uint256[5] memory balancesBefore = _balances();
        uint256[] memory leaves = _firstPending(count);
        expectedRoot = _provePending(count, prover);
        uint256[5] memory balancesAfter = _balances();
        for (uint256 i; i < balancesAfter.length; ++i) {
            if (balancesAfter[i] != balancesBefore[i]) proveMovedMoney = true;
        }
        if (address(coordinator).balance != heldBefore) proveMovedMoney = true;
        expectedProven = end;
        expectedHead = end == expectedDelivered ? bytes32(end) : _chain(expectedHead, leaves);
        uint256 left = deliveryEnds.length - endIndex - 1;
        for (uint256 i; i < left; ++i) deliveryEnds[i] = deliveryEnds[i + endIndex + 1];
        for (uint256 i; i <= endIndex; ++i) deliveryEnds.pop();
        provenResults += count;
    }

    /// @dev The credited balance of every account the handler uses, in _account's order.
    function _balances() internal view returns (uint256[5] memory balances) {
        for (uint256 i; i < balances.length; ++i) balances[i] = coordinator.balanceOf(_account(i));
    }

    function _account(uint256 seed) internal view returns (address) {
        uint256 which = seed % 5;
        if (which < 3) return actors[which];
        return which == 3 ? operator : STRANGER;
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
        uint256 current = log.nextIndex();
        if (current < lastNextIndex) nextIndexShrank = true;
        lastNextIndex = current;
    }
}
