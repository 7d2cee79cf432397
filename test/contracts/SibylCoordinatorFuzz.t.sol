// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "../../contracts/interfaces/ISibylLog.sol";
import {Fulfillment, Model, RequestCommitment, ResultStatus} from "../../contracts/interfaces/SibylTypes.sol";
import {PendingLogFixture} from "./utils/PendingLogFixture.sol";
import {Delivered} from "./utils/SettlementFixture.sol";

contract SibylCoordinatorFuzzTest is PendingLogFixture {
    function testFuzz_request_escrowsAtLeastTheQuoteAtTheBaseFee(
        uint96 modelFee,
        uint32 callbackGas,
        uint64 baseFee,
        uint96 overpay
    ) public {
        modelFee = uint96(bound(modelFee, 0, 10 ether));
        callbackGas = uint32(bound(callbackGas, 0, MAX_CALLBACK_GAS));
        baseFee = uint64(bound(baseFee, 0, 1000 gwei));
        overpay = uint96(bound(overpay, 0, 10 ether));
        Model memory model = _model();
        model.fee = modelFee;
        coordinator.updateModel(MODEL_ID, model);
        vm.fee(baseFee);

        uint256 gasPrice = baseFee > MIN_GAS_PRICE ? baseFee : MIN_GAS_PRICE;
        uint256 loneGas =
            uint256(callbackGas) +
                DELIVERY_GAS +
                PROOF_GAS_PER_LEAF +
                uint256(GAS_PER_OUTPUT_BYTE) * MAX_OUTPUT;
        uint256 fee = modelFee + loneGas * gasPrice;
        assertEq(coordinator.estimateFee(MODEL_ID, callbackGas, baseFee), fee, "quote");
        vm.deal(requester, fee + overpay);
        uint256 held = address(coordinator).balance;
        RequestCommitment memory commitment = _requestWith(
            requester,
            "x",
            callbackGas,
            fee + overpay,
            requester
        );
        assertEq(commitment.escrow, fee + overpay, "all of it escrowed");
        assertEq(coordinator.balanceOf(requester), 0, "nothing credited before settlement");
        assertEq(address(coordinator).balance, held + fee + overpay, "all of it held");

        vm.deal(requester, fee - 1);
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.InsufficientPayment.selector, fee - 1, fee));
        vm.prank(requester);
        coordinator.request{value: fee - 1}(MODEL_ID, "x", callbackGas, requester);
    }

    function testFuzz_request_validatesInputAndCallbackGas(uint256 inputLength, uint32 callbackGas) public {
        inputLength = bound(inputLength, 0, MAX_INPUT * 2);
        bytes memory input = new bytes(inputLength);
        bytes memory expected;
        if (inputLength == 0) {
            expected = abi.encodeWithSelector(ISibylCoordinator.EmptyInput.selector, MODEL_ID);
        } else if (inputLength > MAX_INPUT) {
            expected = abi.encodeWithSelector(
                ISibylCoordinator.InputTooLarge.selector,
                MODEL_ID,
                inputLength,
                MAX_INPUT
            );
        } else if (callbackGas > MAX_CALLBACK_GAS) {
            expected = abi.encodeWithSelector(
                ISibylCoordinator.CallbackGasLimitTooHigh.selector,
                callbackGas,
                MAX_CALLBACK_GAS
            );
        }
        uint256 nextId = coordinator.nextRequestId();
        if (expected.length > 0) vm.expectRevert(expected);
        vm.prank(requester);
        coordinator.request{value: 10 ether}(MODEL_ID, input, callbackGas, requester);
        assertEq(
            coordinator.nextRequestId(),
            expected.length > 0 ? nextId : nextId + 1,
            "id consumed only on success"
        );
    }

    function testFuzz_cancel_onlyAfterTheDeadline(uint32 elapsed) public {
        RequestCommitment memory commitment = _request(requester, "x", 0);
        vm.warp(block.timestamp + elapsed);
        if (block.timestamp <= commitment.deadline) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    ISibylCoordinator.RequestNotExpired.selector,
                    commitment.requestId,
                    commitment.deadline
                )
            );
            coordinator.cancel(commitment);
        } else {
            coordinator.cancel(commitment);
            assertEq(coordinator.balanceOf(requester), commitment.escrow, "refunded");
        }
    }

    /// hardhat-config: fuzz.runs = 300
    function testFuzz_fulfill_anyBatchSizeAfterAnyEarlierBatch(
        uint8 earlier,
        uint8 count,
        uint256 seed
    ) public {
        earlier = uint8(bound(earlier, 0, 64));
        count = uint8(bound(count, 1, 64));
        if (earlier > 0) _fulfill(_batch(earlier, seed));
        uint256 before = log.nextIndex();

        Fulfillment[] memory batch = _batch(count, seed >> 8);
        uint256 newRoot = _fulfill(batch);

        uint256 batchSize = _batchSizeFor(count);
        uint256 start = ((before + batchSize - 1) / batchSize) * batchSize;
        assertEq(log.nextIndex(), start + batchSize, "next index after the subtree");
        assertEq(log.root(), newRoot, "root moved to the proven one");
        for (uint256 i; i < count; ++i) {
            assertEq(coordinator.commitmentOf(batch[i].commitment.requestId), bytes32(0), "retired");
        }
    }

    /// hardhat-config: fuzz.runs = 300
    function testFuzz_fulfill_chargesPlusRefundsEqualEscrows(
        uint8 count,
        uint256 seed,
        uint64 baseFee,
        uint64 tip
    ) public {
        count = uint8(bound(count, 1, 64));
        baseFee = uint64(bound(baseFee, 0, 500 gwei));
        tip = uint64(bound(tip, 0, 50 gwei));
        vm.fee(baseFee);
        Fulfillment[] memory batch = _batch(count, seed);
        uint256 escrows;
        for (uint256 i; i < count; ++i) escrows += batch[i].commitment.escrow;
        // Gas may move between request and fulfilment: settle at a price drawn anew.
        _gasPrice(bound(seed >> 128, 0, 2 * uint256(baseFee)), tip);

        vm.recordLogs();
        _fulfill(batch);
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        assertEq(results.length, count, "one ResultDelivered a result");
        uint256 charged;
        for (uint256 i; i < count; ++i) {
            assertTrue(results[i].fee <= batch[i].commitment.escrow, "charge capped by the escrow");
            assertGe(results[i].fee, MODEL_FEE, "the model fee is always charged");
            charged += results[i].fee;
        }
        assertEq(coordinator.balanceOf(operator), charged, "the operator gets every charge");
        assertEq(coordinator.balanceOf(requester), escrows - charged, "the requester gets the rest");
        assertEq(address(coordinator).balance, escrows, "every wei accounted for");
        assertEq(address(ledger).balance, MIN_STAKE, "the stake untouched");
    }

    /// hardhat-config: fuzz.runs = 500
    function testFuzz_fulfill_changingAnythingAfterProvingIsRejected(
        uint8 count,
        uint8 which,
        uint8 field
    ) public {
        count = uint8(bound(count, 1, 16));
        which = uint8(bound(which, 0, count - 1));
        Fulfillment[] memory batch = _batch(count, which);
        (uint256 newRoot, uint256[8] memory proof) = _prove(batch);
        field = uint8(bound(field, 0, 2));
        if (field == 0) batch[which].output = abi.encodePacked(batch[which].output, "!");
        if (field == 1) batch[which].metadata = "{}";
        if (field == 2) batch[which].status = uint8(ResultStatus.ModelError);
        uint256 root = log.root();
        vm.expectRevert(
            abi.encodeWithSelector(ISibylLog.InvalidProof.selector, root, newRoot, 0, _batchSizeFor(count))
        );
        vm.prank(operator);
        coordinator.fulfill(batch, newRoot, proof);
    }

    /// hardhat-config: fuzz.runs = 300
    function testFuzz_deliver_chargesAndRefundsEqualEscrows(
        uint8 count,
        uint256 seed,
        uint64 baseFee,
        uint64 tip
    ) public {
        count = uint8(bound(count, 1, 64));
        baseFee = uint64(bound(baseFee, 0, 500 gwei));
        tip = uint64(bound(tip, 0, 50 gwei));
        vm.fee(baseFee);
        Fulfillment[] memory batch = _batch(count, seed);
        uint256 escrows;
        for (uint256 i; i < count; ++i) escrows += batch[i].commitment.escrow;
        uint256 deliveryFee = bound(seed >> 128, 0, 2 * uint256(baseFee));
        _gasPrice(deliveryFee, tip);

        vm.recordLogs();
        _deliver(batch);
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        uint256 price = _chargedPrice(deliveryFee, tip);
        uint256 charged;
        for (uint256 i; i < count; ++i) {
            assertEq(results[i].sequence, i, "sequence");
            uint256 escrow = batch[i].commitment.escrow;
            assertTrue(results[i].fee <= escrow, "charge capped by the escrow");
            // Below the cap, the charge includes the leaf's proof gas at the price paid.
            uint256 floor = MODEL_FEE + uint256(PROOF_GAS_PER_LEAF) * price;
            assertGe(results[i].fee, floor < escrow ? floor : escrow, "the proof's share is charged");
            charged += results[i].fee;
        }
        assertEq(coordinator.balanceOf(operator), charged, "the operator gets every charge");
        assertEq(coordinator.balanceOf(requester), escrows - charged, "the requester gets the rest");
        assertEq(address(coordinator).balance, escrows, "every wei accounted for");
        assertEq(address(ledger).balance, MIN_STAKE, "the stake untouched");
    }

    /// @dev Random deliveries (sizes, gas prices) and proofs of random prefixes by random provers:
    /// no prove ever moves a balance or the coordinator's ether, and every delivered leaf ends in the
    /// tree once the queue is empty.
    /// hardhat-config: fuzz.runs = 200
    function testFuzz_prove_byAnyoneNeverMovesABalance(uint256 seed) public {
        address[3] memory provers = [address(0xB1), address(0xB2), operator];
        uint256[] memory ends = new uint256[](12);
        (uint256 firstEnd, uint256 lastEnd, uint256 proven, uint256 charged) = (0, 0, 0, 0);
        uint256 escrows;
        for (uint256 step; step < 12; ++step) {
            uint256 r = uint256(keccak256(abi.encode(seed, step)));
            if (r % 3 != 0 || firstEnd == lastEnd) {
                vm.fee((r >> 8) % 300 gwei);
                Fulfillment[] memory batch = _answers(1 + ((r >> 72) % 8), "q");
                for (uint256 i; i < batch.length; ++i) escrows += batch[i].commitment.escrow;
                _gasPrice((r >> 80) % 300 gwei, (r >> 144) % 5 gwei);
                vm.recordLogs();
                _deliver(batch);
                Delivered[] memory results = _delivered(vm.getRecordedLogs());
                for (uint256 i; i < results.length; ++i) charged += results[i].fee;
                ends[lastEnd] = (lastEnd == 0 ? 0 : ends[lastEnd - 1]) + batch.length;
                ++lastEnd;
            } else {
                uint256 end =
                    firstEnd + ((r >> 8) % (_reachable(ends, firstEnd, lastEnd, proven) - firstEnd));
                _provePending(ends[end] - proven, provers[(r >> 16) % 3]);
                (proven, firstEnd) = (ends[end], end + 1);
            }
            _assertOnlyDeliveriesPaid(provers, charged, escrows);
        }
        while (firstEnd < lastEnd) {
            uint256 reachable = _reachable(ends, firstEnd, lastEnd, proven);
            _provePending(ends[reachable - 1] - proven, provers[0]);
            (proven, firstEnd) = (ends[reachable - 1], reachable);
        }
        _assertOnlyDeliveriesPaid(provers, charged, escrows);
        uint256 delivered = lastEnd == 0 ? 0 : ends[lastEnd - 1];
        _assertQueue(delivered, delivered, bytes32(delivered), bytes32(delivered));
    }

    /// @dev One past the last delivery end a proof from `proven` can reach (at most 64 leaves).
    function _reachable(
        uint256[] memory ends,
        uint256 firstEnd,
        uint256 lastEnd,
        uint256 proven
    ) internal pure returns (uint256 reachable) {
        reachable = firstEnd;
        while (reachable < lastEnd && ends[reachable] - proven <= 64) ++reachable;
    }

    function _assertOnlyDeliveriesPaid(
        address[3] memory provers,
        uint256 charged,
        uint256 escrows
    ) internal view {
        assertEq(coordinator.balanceOf(provers[0]), 0, "a prover is never credited");
        assertEq(coordinator.balanceOf(provers[1]), 0, "a prover is never credited");
        assertEq(coordinator.balanceOf(operator), charged, "the deliverer has exactly its charges");
        assertEq(coordinator.balanceOf(requester), escrows - charged, "the requester has the rest");
        assertEq(address(coordinator).balance, escrows, "every wei accounted for");
        assertEq(address(ledger).balance, MIN_STAKE, "the stake untouched");
    }

    function _batch(uint256 count, uint256 seed) internal returns (Fulfillment[] memory batch) {
        batch = new Fulfillment[](count);
        for (uint256 i; i < count; ++i) {
            uint256 outputLength = uint256(keccak256(abi.encode(seed, i))) % (MAX_OUTPUT + 1);
            batch[i] = _fulfillment(_request(requester, abi.encode(seed, i), 0), new bytes(outputLength));
        }
    }
}
